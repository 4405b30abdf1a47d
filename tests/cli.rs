//! The operator's `tourgate staff ...` commands, run as the built binary.
use std::path::PathBuf;
use std::process::{Command, Output};

const COMMUNITIES: &str = r#"
[[community]]
slug = "maple-court"
knock_community_id = "mapleCourt000001"
name = "Maple Court Apartments"
timezone = "America/New_York"
address = "100 Maple St, Brooklyn, NY 11201"
tour_minutes = 30
default_source_title = "Self-Guided Tour Vendor"

[[community]]
slug = "lotus-residency"
knock_community_id = "lotusResidency01"
name = "Lotus Residency"
timezone = "Asia/Kolkata"
address = "12 MG Road, Bengaluru"
tour_minutes = 45
default_source_title = "Self-Guided Tour Vendor"
"#;

/// A working directory with a communities file and a SQLite database of its own.
struct Workdir(PathBuf);

impl Workdir {
    fn new() -> Self {
        let n: u64 = rand::random();
        let dir = std::env::temp_dir().join(format!("tourgate-cli-{n:016x}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("communities.toml"), COMMUNITIES).unwrap();
        Self(dir)
    }

    fn run(&self, args: &[&str], password: Option<&str>) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tourgate"));
        // Only what the test sets: nothing from the developer's shell leaks in.
        cmd.env_clear()
            .current_dir(&self.0)
            .env(
                "DATABASE_URL",
                format!("sqlite://{}", self.0.join("tourgate.db").display()),
            )
            .env("TOURGATE_COMMUNITIES", self.0.join("communities.toml"))
            .args(args);
        if let Some(p) = password {
            cmd.env("TOURGATE_STAFF_PASSWORD", p);
        }
        cmd.output().expect("the binary runs")
    }
}

impl Drop for Workdir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const GOOD: Option<&str> = Some("correct horse battery staple");

#[test]
fn staff_add_with_the_password_variable_then_staff_list_shows_the_member() {
    let w = Workdir::new();
    let add = w.run(
        &[
            "staff",
            "add",
            "--email",
            "Ann@Example.com",
            "--community",
            "maple-court",
        ],
        GOOD,
    );
    assert_eq!(add.status.code(), Some(0), "{}", stderr(&add));
    assert_eq!(stdout(&add).trim(), "added ann@example.com (maple-court)");

    let list = w.run(&["staff", "list"], None);
    assert_eq!(list.status.code(), Some(0), "{}", stderr(&list));
    assert!(
        stdout(&list).contains("ann@example.com (maple-court)"),
        "{}",
        stdout(&list)
    );
}

#[test]
fn a_short_password_is_refused_and_nothing_is_added() {
    let w = Workdir::new();
    let add = w.run(
        &[
            "staff",
            "add",
            "--email",
            "ann@example.com",
            "--community",
            "maple-court",
        ],
        Some("short"),
    );
    assert_eq!(add.status.code(), Some(1));
    let err = stderr(&add);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("shorter than 12 characters"), "{err}");
    let common = w.run(
        &[
            "staff",
            "add",
            "--email",
            "ann@example.com",
            "--community",
            "maple-court",
        ],
        Some("password1234"),
    );
    assert_eq!(common.status.code(), Some(1));
    assert!(stderr(&common).contains("too common"));
    assert!(!stdout(&w.run(&["staff", "list"], None)).contains("ann@example.com"));
}

#[test]
fn refusals_say_why_in_one_line_and_change_nothing() {
    let w = Workdir::new();
    let add = |email: &str, community: &str| {
        w.run(
            &["staff", "add", "--email", email, "--community", community],
            GOOD,
        )
    };
    let unknown = add("ann@example.com", "nowhere");
    assert_eq!(unknown.status.code(), Some(1));
    assert!(stderr(&unknown).contains("unknown community `nowhere`"));
    let bad_email = add("not-an-address", "maple-court");
    assert_eq!(bad_email.status.code(), Some(1));
    assert!(stderr(&bad_email).contains("is not an e-mail address"));

    assert_eq!(add("ann@example.com", "maple-court").status.code(), Some(0));
    let again = add("ANN@example.com", "lotus-residency");
    assert_eq!(again.status.code(), Some(1));
    assert!(stderr(&again).contains("already exists; nothing was changed"));
    let list = stdout(&w.run(&["staff", "list"], None));
    assert!(list.contains("ann@example.com (maple-court)"), "{list}");
}

#[test]
fn grant_revoke_and_remove_change_one_thing_each() {
    let w = Workdir::new();
    assert_eq!(
        w.run(
            &[
                "staff",
                "add",
                "--email",
                "ann@example.com",
                "--community",
                "maple-court"
            ],
            GOOD
        )
        .status
        .code(),
        Some(0)
    );
    let staff = |args: &[&str]| w.run(&[&["staff"], args].concat(), None);

    let grant = staff(&[
        "grant",
        "--email",
        "ann@example.com",
        "--community",
        "lotus-residency",
    ]);
    assert_eq!(grant.status.code(), Some(0), "{}", stderr(&grant));
    assert!(stdout(&staff(&["list"])).contains("ann@example.com (lotus-residency, maple-court)"));
    let twice = staff(&[
        "grant",
        "--email",
        "ann@example.com",
        "--community",
        "lotus-residency",
    ]);
    assert_eq!(twice.status.code(), Some(1));

    let revoke = staff(&[
        "revoke",
        "--email",
        "ann@example.com",
        "--community",
        "maple-court",
    ]);
    assert_eq!(revoke.status.code(), Some(0), "{}", stderr(&revoke));
    assert!(stdout(&staff(&["list"])).contains("ann@example.com (lotus-residency)"));

    let remove = staff(&["remove", "--email", "ann@example.com"]);
    assert_eq!(remove.status.code(), Some(0));
    assert_eq!(stdout(&remove).trim(), "removed ann@example.com");
    assert!(!stdout(&staff(&["list"])).contains("ann@example.com"));
    let gone = staff(&["remove", "--email", "ann@example.com"]);
    assert_eq!(gone.status.code(), Some(1));
    assert!(stderr(&gone).contains("there is no staff member ann@example.com"));
}

/// `tourgate seam-sandbox` serves Seam's API until it is stopped: the seeded locks answer to
/// the default key, and anything else gets Seam's 401.
#[test]
fn seam_sandbox_serves_the_seeded_locks_to_the_default_key() {
    use std::io::{BufRead, BufReader, Read, Write};

    let mut child = Command::new(env!("CARGO_BIN_EXE_tourgate"))
        .env_clear()
        .args(["seam-sandbox", "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the binary runs");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("a first line");
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .map(str::to_owned);
    let get = |addr: &str, key: &str| -> String {
        let mut stream = std::net::TcpStream::connect(addr).expect("connect");
        write!(
            stream,
            "GET /locks/list HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n"
        )
        .expect("send");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("read");
        answer
    };
    let answers = addr.map(|addr| {
        (
            get(&addr, "seam_test_tourgate"),
            get(&addr, "seam_test_other"),
        )
    });
    child.kill().expect("stop the emulator");
    let _ = child.wait();
    let (good, bad) = answers.unwrap_or_else(|| panic!("no address in {line:?}"));
    assert!(
        line.starts_with("Seam sandbox listening on http://127.0.0.1:"),
        "{line}"
    );
    assert!(good.starts_with("HTTP/1.1 200"), "{good}");
    assert!(good.to_lowercase().contains("seam-request-id:"), "{good}");
    assert!(
        good.contains("5e4a0000-0000-4000-8000-000000000001"),
        "{good}"
    );
    assert!(bad.starts_with("HTTP/1.1 401"), "{bad}");
    assert!(bad.contains(r#""type":"unauthorized""#), "{bad}");
}

//! The yardstick of scripts/bench.sh: a bare actix-web handler answering every GET with the
//! bytes of one file (the landing page as Tourgate rendered it), as fast as actix-web can.
//!
//! Usage: bench-bare FILE LISTEN_ADDR
use actix_web::{web, App, HttpResponse, HttpServer};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(file), Some(listen)) = (args.next(), args.next()) else {
        eprintln!("usage: bench-bare FILE LISTEN_ADDR");
        std::process::exit(2);
    };
    let body = web::Bytes::from(std::fs::read(&file)?);
    HttpServer::new(move || {
        let body = body.clone();
        App::new().default_service(web::to(move || {
            let body = body.clone();
            async move {
                HttpResponse::Ok()
                    .content_type("text/html; charset=utf-8")
                    .body(body)
            }
        }))
    })
    .bind(listen)?
    .run()
    .await
}

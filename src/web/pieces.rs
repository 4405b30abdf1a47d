//! A page body made of shared pieces, handed to the connection a slice at a time.
//!
//! A booking page is mostly its days' times, which every view of a cached answer shares (and
//! an answer a booking changed shares all days but one with the one before). Sent as one
//! `String`, each view copied them twice: once as askama rendered the page, once into the
//! connection's write buffer, which for a page over actix's retention limit (128 KiB) was a
//! fresh allocation per response. At 64 connections those copies were most of the process's
//! peak memory (BENCHMARKS.md). As pieces, the times are shared, not copied, and each
//! connection's buffer stays under that limit and is reused.
use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, MessageBody};
use bytes::{Bytes, BytesMut};
use memchr::memmem;

/// At most this much is handed over per poll: actix's write buffer (32 KiB by default) then
/// holds at most one slice beyond its limit.
const SLICE: usize = 16 * 1024;

/// The bytes of `pieces`, in order, with their length known up front (`Content-Length`).
pub struct Pieces {
    left: VecDeque<Bytes>,
    remaining: u64,
}

impl Pieces {
    pub fn new(pieces: impl IntoIterator<Item = Bytes>) -> Self {
        let left: VecDeque<Bytes> = pieces.into_iter().filter(|p| !p.is_empty()).collect();
        let remaining = left.iter().map(|p| p.len() as u64).sum();
        Self { left, remaining }
    }
}

impl MessageBody for Pieces {
    type Error = Infallible;

    fn size(&self) -> BodySize {
        BodySize::Sized(self.remaining)
    }

    fn poll_next(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = self.get_mut();
        let Some(mut first) = this.left.pop_front() else {
            return Poll::Ready(None);
        };
        let slice = if first.len() > SLICE {
            // A slice of a shared piece is a reference to it, not a copy.
            let slice = first.split_to(SLICE);
            this.left.push_front(first);
            slice
        } else if this
            .left
            .front()
            .is_some_and(|next| first.len() + next.len() <= SLICE)
        {
            // Small pieces (a page's text between two days' times) go together: each poll
            // passes through every body wrapper of the middleware, which cost more than the
            // copy.
            let (mut size, mut together) = (first.len(), 0);
            for next in &this.left {
                if size + next.len() > SLICE {
                    break;
                }
                size += next.len();
                together += 1;
            }
            // As large as the run, not a slice: most runs are a few hundred bytes.
            let mut joined = BytesMut::with_capacity(size);
            joined.extend_from_slice(&first);
            for next in this.left.drain(..together) {
                joined.extend_from_slice(&next);
            }
            joined.freeze()
        } else {
            first
        };
        this.remaining -= slice.len() as u64;
        Poll::Ready(Some(Ok(slice)))
    }
}

/// Where a shared piece goes in a rendered page. It starts with `<`, which askama escapes in
/// every value it writes: only a template's own `|safe` insertion can put it there.
pub const HOLE: &str = "<!--tourgate:piece-->";

/// The page rendered with [`HOLE`]s, each filled in order by the next of `fillings` (a hole
/// left over stays empty; a page without holes is sent as it is).
pub fn filled(page: String, fillings: impl IntoIterator<Item = Bytes>) -> Pieces {
    fill(&cut(page), fillings)
}

/// The page cut at its [`HOLE`]s: the text before each, then the text after the last. Kept,
/// it is filled for each answer ([`fill`]) without searching the page again.
pub fn cut(page: String) -> Vec<Bytes> {
    // memchr's vectorised search: `str::match_indices` was 2% of a landing page's CPU.
    static FINDER: std::sync::LazyLock<memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memmem::Finder::new(HOLE));
    let holes: Vec<usize> = FINDER.find_iter(page.as_bytes()).collect();
    let page = Bytes::from(page);
    let mut text = Vec::with_capacity(holes.len() + 1);
    let mut from = 0;
    for at in holes {
        text.push(page.slice(from..at));
        from = at + HOLE.len();
    }
    text.push(page.slice(from..));
    text
}

/// A page [`cut`] at its holes with all but its first `open` holes filled in order by
/// `fillings` (a hole left over stays empty): the page cut at those `open` holes only, to be
/// kept and [`fill`]ed. Each kept piece is one run of bytes, sent without another copy.
pub fn fill_after(
    text: &[Bytes],
    open: usize,
    fillings: impl IntoIterator<Item = Bytes>,
) -> Vec<Bytes> {
    let Some((last, rest)) = text.get(open).zip(text.get(open + 1..)) else {
        return text.to_vec();
    };
    let fillings: Vec<Bytes> = fillings.into_iter().take(rest.len()).collect();
    let size = [last]
        .into_iter()
        .chain(rest)
        .chain(&fillings)
        .map(Bytes::len)
        .sum();
    let mut joined = BytesMut::with_capacity(size);
    joined.extend_from_slice(last);
    let mut fillings = fillings.iter();
    for piece in rest {
        if let Some(filling) = fillings.next() {
            joined.extend_from_slice(filling);
        }
        joined.extend_from_slice(piece);
    }
    let mut kept = text[..open].to_vec();
    kept.push(joined.freeze());
    kept
}

/// A page [`cut`] at its holes, the holes filled in order by `fillings` (a hole left over
/// stays empty).
pub fn fill(text: &[Bytes], fillings: impl IntoIterator<Item = Bytes>) -> Pieces {
    let mut fillings = fillings.into_iter();
    let mut pieces = Vec::with_capacity(2 * text.len());
    for (i, piece) in text.iter().enumerate() {
        if i > 0 {
            pieces.extend(fillings.next());
        }
        pieces.push(piece.clone());
    }
    Pieces::new(pieces)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;

    #[actix_web::test]
    async fn the_holes_are_filled_in_order_with_the_length_known() {
        let long = "p".repeat(3 * SLICE + 7);
        let page = format!("<head>{HOLE}<mid>{HOLE}{HOLE}</tail>");
        let body = filled(
            page,
            ["a", long.as_str(), "c"].map(|s| Bytes::from(s.to_string())),
        );
        let expected = format!("<head>a<mid>{long}c</tail>");
        assert_eq!(body.size(), BodySize::Sized(expected.len() as u64));
        assert_eq!(to_bytes(body).await.unwrap(), expected.as_bytes());
    }

    #[actix_web::test]
    async fn a_page_kept_with_its_later_holes_filled_is_sent_as_if_filled_whole() {
        let page = format!("<a>{HOLE}<b>{HOLE}<c>{HOLE}<d>{HOLE}<e>");
        let kept = fill_after(&cut(page.clone()), 2, ["3", "4"].map(Bytes::from));
        assert_eq!(kept, ["<a>", "<b>", "<c>3<d>4<e>"].map(Bytes::from));
        let tokens = || ["1", "2"].map(Bytes::from);
        let sent = to_bytes(fill(&kept, tokens())).await.unwrap();
        let whole = filled(
            page,
            tokens().into_iter().chain(["3", "4"].map(Bytes::from)),
        );
        assert_eq!(sent, to_bytes(whole).await.unwrap());
        assert_eq!(sent, "<a>1<b>2<c>3<d>4<e>");
        // Fewer holes than kept open, or fewer fillings than holes: as `fill` leaves them.
        let short = cut(format!("<a>{HOLE}<b>"));
        assert_eq!(fill_after(&short, 2, [Bytes::from("x")]), short);
        let unfilled = fill_after(&cut(format!("<a>{HOLE}<b>{HOLE}<c>")), 1, []);
        assert_eq!(unfilled, ["<a>", "<b><c>"].map(Bytes::from));
    }

    #[actix_web::test]
    async fn a_hole_without_a_filling_is_left_empty() {
        let body = filled(format!("<a>{HOLE}<b>{HOLE}"), [Bytes::from("x")]);
        assert_eq!(to_bytes(body).await.unwrap(), "<a>x<b>");
    }

    #[actix_web::test]
    async fn no_piece_handed_over_is_longer_than_a_slice() {
        let mut body = Pieces::new([Bytes::from(vec![b'x'; 2 * SLICE + 1]), Bytes::new()]);
        let mut lens = Vec::new();
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        while let Poll::Ready(Some(Ok(b))) = Pin::new(&mut body).poll_next(&mut cx) {
            lens.push(b.len());
        }
        assert_eq!(lens, [SLICE, SLICE, 1]);
        assert_eq!(body.size(), BodySize::Sized(0));
    }

    #[actix_web::test]
    async fn small_pieces_go_together_up_to_a_slice() {
        let piece = |n: usize| Bytes::from(vec![b'x'; n]);
        let mut body = Pieces::new([
            piece(10),
            piece(20),
            piece(SLICE - 30),
            piece(5),
            piece(SLICE + 1),
        ]);
        let mut lens = Vec::new();
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        while let Poll::Ready(Some(Ok(b))) = Pin::new(&mut body).poll_next(&mut cx) {
            lens.push(b.len());
        }
        assert_eq!(lens, [SLICE, 5, SLICE, 1]);
    }

    #[actix_web::test]
    async fn a_page_without_the_hole_is_sent_whole() {
        let body = filled("<p>no picker</p>".into(), [Bytes::from("unused")]);
        assert_eq!(to_bytes(body).await.unwrap(), "<p>no picker</p>");
    }
}

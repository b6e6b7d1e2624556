//! Tails: a reader with the filters, limits and timeouts a consumer asks for.
//!
//! A [`Cursor`] yields every event in the ring; a [`Tail`] is what an
//! application (or a language binding) usually wants on top of it: only the
//! messages that carry some tags and pass some jq predicates, at most `max`
//! of them, ending after a stretch of silence. Filtering happens here, once,
//! so every binding filters the same way.

use std::time::{Duration, Instant};

use crate::cursor::{Cursor, Ready, Start};
#[cfg(feature = "filter")]
use crate::error::Error;
use crate::error::{ErrorKind, Result};
#[cfg(feature = "filter")]
use crate::filter::Filter;
use crate::message::{Message, RawMessage};
use crate::pool::Pool;
use crate::readers::Resume;

/// What a [`Tail`] reads: where it starts, which messages it keeps, when it
/// ends. Built with chained setters from [`TailOptions::default`], which reads
/// every retained message and then follows the pool forever.
#[derive(Debug, Default)]
pub struct TailOptions {
    start: Option<Start>,
    last: Option<u64>,
    tags: Vec<String>,
    #[cfg(feature = "filter")]
    filter: Option<Filter>,
    max: Option<u64>,
    idle_timeout: Option<Duration>,
    name: Option<String>,
    auto_ack: bool,
}

impl TailOptions {
    /// Starts at `start` (default: the oldest retained message).
    pub fn start(mut self, start: Start) -> Self {
        self.start = Some(start);
        self.last = None;
        self
    }

    /// Starts at the first retained message with seq ≥ `seq`.
    pub fn since_seq(self, seq: u64) -> Self {
        self.start(Start::Seq(seq))
    }

    /// Starts at the last `n` messages that pass the tag and jq filters
    /// (not merely the last `n` messages), then follows.
    pub fn last(mut self, n: u64) -> Self {
        self.start = None;
        self.last = Some(n);
        self
    }

    /// Keeps only messages carrying every one of `tags`.
    pub fn tags<I, S>(mut self, tags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tags = tags.into_iter().map(Into::into).collect();
        self
    }

    /// Keeps only messages the jq predicates accept (see [`Filter`]).
    #[cfg(feature = "filter")]
    pub fn filter(mut self, filter: Filter) -> Self {
        self.filter = (!filter.is_empty()).then_some(filter);
        self
    }

    /// Ends after `n` messages have been delivered.
    pub fn max(mut self, n: u64) -> Self {
        self.max = Some(n);
        self
    }

    /// Makes this a durable named reader: its position is kept in the pool
    /// under `name`, so the next tail with the same name resumes right after
    /// the last message [`Tail::ack`] acknowledged (at-least-once delivery).
    /// The start options apply only when the reader is created. Messages the
    /// ring evicted while the reader was away count as [`Tail::dropped`].
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// For a named tail: acknowledges each message when the next one is asked
    /// for, so a consumer that reads, handles and reads again never calls
    /// [`Tail::ack`] itself. Delivery stays at-least-once: the message being
    /// handled when the process dies, or when the tail is dropped without
    /// asking for more, is delivered again to the next tail of that name.
    pub fn auto_ack(mut self, on: bool) -> Self {
        self.auto_ack = on;
        self
    }

    /// Ends when no message has been delivered for `timeout` (counted from
    /// the tail's creation, then from each delivered message). Without one
    /// the tail follows the pool until dropped.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = Some(timeout);
        self
    }
}

/// What [`Tail::poll`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TailPoll<'a> {
    /// A message, valid until the next call.
    Message(RawMessage<'a>),
    /// Nothing arrived within the wait given; the tail goes on.
    Pending,
    /// The tail is over: `max` messages were delivered or it sat idle for
    /// its idle timeout. Every later call says so again.
    End,
}

/// A filtered, bounded reader over one pool: only the messages that carry
/// some tags and pass some jq predicates, at most `max` of them, ending
/// after a stretch of silence.
///
/// Evictions and damaged frames do not stop a tail: it steps over them and
/// counts them ([`dropped`](Self::dropped), [`damaged`](Self::damaged)), so a
/// consumer can tell that it missed something without handling it inline.
pub struct Tail {
    cursor: Cursor,
    #[cfg(feature = "filter")]
    filter: Option<Filter>,
    #[cfg(feature = "filter")]
    envelope: Vec<u8>,
    max: Option<u64>,
    idle_timeout: Option<Duration>,
    named: Option<Resume>,
    /// Set for an auto-acknowledging named tail: the position last stored.
    auto_acked: Option<u64>,
    last_delivery: Instant,
    delivered: u64,
    dropped: u64,
    damaged: u64,
}

impl std::fmt::Debug for Tail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tail")
            .field("pool", &self.cursor.pool().path())
            .field("next_seq", &self.cursor.position().seq)
            .field("delivered", &self.delivered)
            .field("dropped", &self.dropped)
            .field("damaged", &self.damaged)
            .finish_non_exhaustive()
    }
}

impl Tail {
    pub(crate) fn new(pool: &Pool, opts: TailOptions) -> Result<Tail> {
        let mut tail = Tail {
            cursor: pool.cursor(Start::Newest)?.with_tags(opts.tags.clone()),
            #[cfg(feature = "filter")]
            filter: opts.filter,
            #[cfg(feature = "filter")]
            envelope: Vec::new(),
            // Unbounded while looking for where the last matches begin.
            max: None,
            idle_timeout: None,
            named: None,
            auto_acked: None,
            last_delivery: Instant::now(),
            delivered: 0,
            dropped: 0,
            damaged: 0,
        };
        let existing = opts
            .name
            .as_deref()
            .and_then(|n| pool.inner.core.find_reader(n));
        let mut start = match (opts.last, opts.start) {
            // A reader that already exists resumes; no need to search.
            _ if existing.is_some() => Start::Oldest,
            (Some(n), _) => tail.start_of_last(n)?,
            (None, start) => start.unwrap_or(Start::Oldest),
        };
        let mut missed = 0;
        if let Some(name) = &opts.name {
            let resume = pool.resume(name, start)?;
            (start, missed) = (resume.start(), resume.missed());
            tail.named = Some(resume);
        }
        tail.cursor = pool.cursor(start)?.with_tags(opts.tags);
        if opts.auto_ack && tail.named.is_some() {
            tail.auto_acked = Some(tail.next_seq());
        }
        tail.max = opts.max;
        tail.idle_timeout = opts.idle_timeout;
        tail.last_delivery = Instant::now();
        (tail.delivered, tail.dropped, tail.damaged) = (0, missed, 0);
        Ok(tail)
    }

    /// Where the last `n` matches begin. Without content filters that is
    /// plain arithmetic on seqs; with them, look back in growing windows so
    /// the search reads about as many messages as it will deliver.
    fn start_of_last(&mut self, n: u64) -> Result<Start> {
        if n == 0 {
            return Ok(Start::Newest);
        }
        if !self.filters_content() {
            return Ok(Start::Last(n));
        }
        let pool = self.cursor.pool().clone();
        let mut window = n;
        loop {
            self.cursor = pool.cursor(Start::Last(window))?.with_tags(self.tags());
            let first = self.cursor.position().seq;
            let mut seqs = Vec::new();
            while let TailPoll::Message(m) = self.step(Some(Duration::ZERO))? {
                seqs.push(m.seq);
            }
            let at_oldest = pool.info()?.oldest.is_none_or(|(o, _)| first <= o);
            if seqs.len() as u64 >= n || at_oldest {
                let from = seqs.len().saturating_sub(n as usize);
                return Ok(seqs.get(from).map_or(Start::Newest, |s| Start::Seq(*s)));
            }
            window = window.saturating_mul(4);
        }
    }

    fn tags(&self) -> Vec<String> {
        self.cursor.tags().to_vec()
    }

    fn filters_content(&self) -> bool {
        #[cfg(feature = "filter")]
        if self.filter.is_some() {
            return true;
        }
        !self.cursor.tags().is_empty()
    }

    /// The pool this tail reads.
    pub fn pool(&self) -> &Pool {
        self.cursor.pool()
    }

    /// The next matching message, waiting for it; `None` once the tail is
    /// over (see [`TailPoll::End`]).
    pub fn next_raw(&mut self) -> Result<Option<RawMessage<'_>>> {
        match self.step(None)? {
            TailPoll::Message(m) => Ok(Some(m)),
            TailPoll::Pending | TailPoll::End => Ok(None),
        }
    }

    /// [`next_raw`](Self::next_raw), owned.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<Message>> {
        Ok(self.next_raw()?.map(|m| m.to_message()))
    }

    /// The next matching message, waiting at most `wait` for it (`None`:
    /// until the idle timeout, or forever). A caller that must stay
    /// responsive — to a cancel request, a signal, an interpreter lock —
    /// polls in short slices; the idle timeout spans them.
    pub fn poll(&mut self, wait: Option<Duration>) -> Result<TailPoll<'_>> {
        self.step(wait)
    }

    fn step(&mut self, wait: Option<Duration>) -> Result<TailPoll<'_>> {
        if let Some(acked) = self.auto_acked {
            let next = self.next_seq();
            if next != acked {
                self.ack();
                self.auto_acked = Some(next);
            }
        }
        Ok(match self.seek(wait)? {
            Found::Message => self
                .cursor
                .current()
                .map_or(TailPoll::Pending, TailPoll::Message),
            Found::Pending => TailPoll::Pending,
            Found::End => TailPoll::End,
        })
    }

    /// Moves the cursor to the next matching message (then the cursor's
    /// current one), or says why there is none.
    fn seek(&mut self, wait: Option<Duration>) -> Result<Found> {
        if self.max.is_some_and(|m| self.delivered >= m) {
            return Ok(Found::End);
        }
        // A poll that may not wait — the first try of a caller that waits in
        // slices, as the language bindings do — reads the clock only for an
        // idle timeout: at ~50 ns a read, three reads were a quarter of the
        // cost of a message through the Python binding.
        let no_wait = wait == Some(Duration::ZERO);
        let slice_end = wait.filter(|_| !no_wait).map(|w| Instant::now() + w);
        loop {
            let idle_end = self.idle_timeout.map(|t| self.last_delivery + t);
            let step = if no_wait {
                self.cursor.advance()
            } else {
                let end = match (slice_end, idle_end) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                let left = end.map(|e| e.saturating_duration_since(Instant::now()));
                self.cursor.advance_wait(left)
            };
            let ready = match step {
                Ok(r) => r,
                Err(e) if e.kind() == ErrorKind::Corrupt => {
                    self.damaged += self.cursor.skip_damaged().max(1);
                    continue;
                }
                Err(e) => return Err(e),
            };
            match ready {
                None => {
                    if idle_end.is_some_and(|e| Instant::now() >= e) {
                        return Ok(Found::End);
                    }
                    if no_wait || slice_end.is_some_and(|e| Instant::now() >= e) {
                        return Ok(Found::Pending);
                    }
                }
                Some(Ready::Dropped { missed }) => self.dropped += missed,
                Some(Ready::Message) => {
                    if self.accepts()? {
                        self.delivered += 1;
                        if self.idle_timeout.is_some() {
                            self.last_delivery = Instant::now();
                        }
                        return Ok(Found::Message);
                    }
                }
            }
        }
    }

    /// Whether the cursor's current message passes the jq predicates (tags
    /// were checked by the cursor).
    fn accepts(&mut self) -> Result<bool> {
        #[cfg(feature = "filter")]
        if let (Some(filter), Some(m)) = (&self.filter, self.cursor.current()) {
            self.envelope.clear();
            m.write_json(&mut self.envelope);
            return filter.matches(&self.envelope).map_err(Error::from);
        }
        Ok(true)
    }

    /// Messages delivered so far.
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// Messages the writers evicted before this tail could read them.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Damaged frames stepped over (each is also reported by
    /// [`Pool::validate`]).
    pub fn damaged(&self) -> u64 {
        self.damaged
    }

    /// Acknowledges every message delivered so far: for a named tail (see
    /// [`TailOptions::name`]), stores the position in the pool so the next
    /// tail of that name starts after them. One atomic store, no lock, no
    /// syscall; it survives the process, not a power cut. Does nothing for an
    /// unnamed tail.
    pub fn ack(&self) {
        if let Some(r) = &self.named {
            r.store(self.next_seq());
        }
    }

    /// Acknowledges the messages up to and including `seq`, never past what
    /// was delivered: for a consumer that hands messages on (to a channel,
    /// another thread) and learns later which ones were handled. It may
    /// move the stored position back. Does nothing for an unnamed tail.
    pub fn ack_through(&self, seq: u64) {
        if let Some(r) = &self.named {
            r.store(seq.saturating_add(1).min(self.next_seq()));
        }
    }

    /// The seq the tail reads next: to resume after a restart, start a new
    /// tail with [`TailOptions::since_seq`] of this.
    pub fn next_seq(&self) -> u64 {
        self.cursor.position().seq
    }
}

/// [`TailPoll`] without the borrow.
enum Found {
    Message,
    Pending,
    End,
}

impl Pool {
    /// A filtered, bounded reader: see [`Tail`].
    pub fn tail(&self, opts: TailOptions) -> Result<Tail> {
        Tail::new(self, opts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Durability, PoolOptions};
    use serde_json::json;

    fn pool() -> (tempdir::Dir, Pool) {
        let dir = tempdir::Dir::new();
        let pool = Pool::create(dir.path().join("t.plasmite"), &PoolOptions::default()).unwrap();
        (dir, pool)
    }

    mod tempdir {
        use std::path::{Path, PathBuf};

        pub struct Dir(PathBuf);

        impl Dir {
            pub fn new() -> Dir {
                use std::sync::atomic::{AtomicU32, Ordering};
                static N: AtomicU32 = AtomicU32::new(0);
                let p = std::env::temp_dir().join(format!(
                    "plasmite-tail-{}-{}",
                    std::process::id(),
                    N.fetch_add(1, Ordering::Relaxed)
                ));
                std::fs::create_dir_all(&p).unwrap();
                Dir(p)
            }
            pub fn path(&self) -> &Path {
                &self.0
            }
        }

        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    fn fill(pool: &Pool) {
        for i in 1..=10u64 {
            let tag = if i % 2 == 0 { "even" } else { "odd" };
            pool.append(&json!({ "i": i }), &[tag], Durability::Fast)
                .unwrap();
        }
    }

    fn seqs(tail: &mut Tail) -> Vec<u64> {
        let mut out = Vec::new();
        while let TailPoll::Message(m) = tail.poll(Some(Duration::ZERO)).unwrap() {
            out.push(m.seq);
        }
        out
    }

    #[test]
    fn tags_max_and_since() {
        let (_d, pool) = pool();
        fill(&pool);
        let mut t = pool.tail(TailOptions::default().tags(["even"])).unwrap();
        assert_eq!(seqs(&mut t), [2, 4, 6, 8, 10]);
        let mut t = pool
            .tail(TailOptions::default().since_seq(7).max(2))
            .unwrap();
        assert_eq!(seqs(&mut t), [7, 8]);
        assert_eq!(t.poll(None).unwrap(), TailPoll::End);
        assert_eq!(t.next().unwrap(), None);
    }

    #[test]
    fn last_counts_matches_not_messages() {
        let (_d, pool) = pool();
        fill(&pool);
        let mut t = pool
            .tail(TailOptions::default().last(2).tags(["odd"]))
            .unwrap();
        assert_eq!(seqs(&mut t), [7, 9]);
        let mut t = pool.tail(TailOptions::default().last(3)).unwrap();
        assert_eq!(seqs(&mut t), [8, 9, 10]);
        let mut t = pool
            .tail(TailOptions::default().last(2).tags(["even"]).max(1))
            .unwrap();
        assert_eq!(seqs(&mut t), [8]);
        let mut t = pool.tail(TailOptions::default().last(0)).unwrap();
        assert!(seqs(&mut t).is_empty());
    }

    #[cfg(feature = "filter")]
    #[test]
    fn jq_filter_is_applied_and_errors_are_usage() {
        let (_d, pool) = pool();
        fill(&pool);
        let f = Filter::compile(&[".data.i > 8".to_string()]).unwrap();
        let mut t = pool.tail(TailOptions::default().filter(f)).unwrap();
        assert_eq!(seqs(&mut t), [9, 10]);
        let f = Filter::compile(&[".data.i".to_string()]).unwrap();
        let mut t = pool.tail(TailOptions::default().filter(f)).unwrap();
        let e = t.poll(Some(Duration::ZERO)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Usage);
    }

    #[test]
    fn named_tail_resumes_after_the_last_ack() {
        let (_d, pool) = pool();
        fill(&pool);
        let named = || TailOptions::default().name("worker").max(3);
        let mut t = pool.tail(named()).unwrap();
        assert_eq!(t.next().unwrap().unwrap().seq, 1);
        t.ack();
        assert_eq!(t.next().unwrap().unwrap().seq, 2);
        drop(t); // crashed before acknowledging 2: it comes again
        let mut t = pool.tail(named().since_seq(9)).unwrap();
        assert_eq!(seqs(&mut t), [2, 3, 4]);
        t.ack();
        assert_eq!(pool.readers()[0].next_seq, 5);
        let mut t = pool.tail(named().tags(["even"])).unwrap();
        assert_eq!(seqs(&mut t), [6, 8, 10]);
        t.ack();
        assert_eq!(pool.readers()[0].next_seq, 11);
        pool.delete_reader("worker").unwrap();
        assert!(pool.readers().is_empty());
        assert_eq!(
            pool.delete_reader("worker").unwrap_err().kind(),
            ErrorKind::NotFound
        );
        // A new reader starts where its options say.
        let mut t = pool.tail(named().last(1)).unwrap();
        assert_eq!(seqs(&mut t), [10]);
        let e = pool
            .tail(TailOptions::default().name("no spaces"))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Usage);
    }

    #[test]
    fn auto_ack_acknowledges_a_message_when_the_next_is_asked_for() {
        let (_d, pool) = pool();
        fill(&pool);
        let named = || TailOptions::default().name("auto").auto_ack(true);
        let mut t = pool.tail(named()).unwrap();
        assert_eq!(t.next().unwrap().unwrap().seq, 1);
        assert_eq!(pool.readers()[0].next_seq, 1, "1 is still being handled");
        assert_eq!(t.next().unwrap().unwrap().seq, 2);
        assert_eq!(pool.readers()[0].next_seq, 2);
        drop(t);
        // 2 was never followed by a request for more: it comes again.
        let mut t = pool.tail(named().max(2)).unwrap();
        assert_eq!(seqs(&mut t), [2, 3]);
        // Running into `max` asked for more, so 3 is acknowledged too.
        assert_eq!(pool.readers()[0].next_seq, 4);
        // Without auto_ack nothing is stored until ack().
        let mut t = pool
            .tail(TailOptions::default().name("auto").max(2))
            .unwrap();
        assert_eq!(seqs(&mut t), [4, 5]);
        assert_eq!(pool.readers()[0].next_seq, 4);
        // ack_through stores what it is told, up to what was delivered.
        let mut t = pool
            .tail(TailOptions::default().name("auto").max(3))
            .unwrap();
        assert_eq!(seqs(&mut t), [4, 5, 6]);
        t.ack_through(4);
        assert_eq!(pool.readers()[0].next_seq, 5);
        t.ack_through(99);
        assert_eq!(pool.readers()[0].next_seq, 7);
        // An unnamed tail ignores it.
        let mut t = pool
            .tail(TailOptions::default().auto_ack(true).max(1))
            .unwrap();
        assert_eq!(seqs(&mut t), [1]);
        assert_eq!(pool.readers().len(), 1);
    }

    #[test]
    fn named_tail_reports_what_the_ring_evicted_while_away() {
        let dir = tempdir::Dir::new();
        let pool = Pool::create(
            dir.path().join("small.plasmite"),
            &PoolOptions::with_size(8192),
        )
        .unwrap();
        let mut t = pool
            .tail(TailOptions::default().name("slow").max(1))
            .unwrap();
        assert_eq!(t.poll(Some(Duration::ZERO)).unwrap(), TailPoll::Pending);
        t.ack();
        for i in 0..500u64 {
            pool.append(&json!({ "i": i }), &[], Durability::Fast)
                .unwrap();
        }
        let oldest = pool.info().unwrap().oldest.unwrap().0;
        assert!(oldest > 1);
        let mut t = pool.tail(TailOptions::default().name("slow")).unwrap();
        assert_eq!(t.dropped(), oldest - 1);
        assert_eq!(t.next().unwrap().unwrap().seq, oldest);
    }

    #[test]
    fn idle_timeout_restarts_after_each_delivery() {
        let (_d, pool) = pool();
        let writer = pool.clone();
        let t0 = Instant::now();
        let h = std::thread::spawn(move || {
            for i in 0..3 {
                std::thread::sleep(Duration::from_millis(150));
                writer
                    .append(&json!({ "i": i }), &[], Durability::Fast)
                    .unwrap();
            }
        });
        let mut t = pool
            .tail(TailOptions::default().idle_timeout(Duration::from_millis(400)))
            .unwrap();
        let mut got = 0;
        while t.next().unwrap().is_some() {
            got += 1;
        }
        h.join().unwrap();
        // Three messages 150 ms apart never leave the tail idle for 400 ms;
        // an absolute deadline would have ended it before the third.
        assert_eq!(got, 3);
        assert!(t0.elapsed() >= Duration::from_millis(850));
    }

    #[test]
    fn a_poll_that_may_not_wait_still_sees_the_idle_timeout() {
        let (_d, pool) = pool();
        pool.append(&json!({ "x": 1 }), &[], Durability::Fast)
            .unwrap();
        let mut t = pool
            .tail(TailOptions::default().idle_timeout(Duration::from_millis(400)))
            .unwrap();
        assert!(matches!(
            t.poll(Some(Duration::ZERO)).unwrap(),
            TailPoll::Message(_)
        ));
        assert_eq!(t.poll(Some(Duration::ZERO)).unwrap(), TailPoll::Pending);
        std::thread::sleep(Duration::from_millis(500));
        assert_eq!(t.poll(Some(Duration::ZERO)).unwrap(), TailPoll::End);
    }

    #[test]
    fn pending_then_message() {
        let (_d, pool) = pool();
        let mut t = pool.tail(TailOptions::default()).unwrap();
        assert_eq!(
            t.poll(Some(Duration::from_millis(5))).unwrap(),
            TailPoll::Pending
        );
        pool.append(&json!({ "x": 1 }), &[], Durability::Fast)
            .unwrap();
        match t.poll(Some(Duration::from_secs(1))).unwrap() {
            TailPoll::Message(m) => assert_eq!(m.data, br#"{"x":1}"#),
            other => panic!("expected a message, got {other:?}"),
        }
        assert_eq!(t.next_seq(), 2);
    }
}

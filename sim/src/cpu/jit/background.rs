//! Compiling on a host thread of its own, beside the simulation.
//!
//! Why: a translation costs about a millisecond of Cranelift
//! (docs/benchmarks.md), so compiled on the simulating thread it stops the
//! machine for that long, and a lower hot threshold paid in compiling what
//! it saved in interpreting. Here the simulating thread asks (a copy of the
//! decoded block, the word, the virtual base) and goes on interpreting; the
//! compiler thread answers; the simulating thread takes the answers at its
//! next arrival anywhere (`Jit::entry`) and installs each whose block has
//! not been written or replaced since it asked. When a translation is
//! installed does not matter to the simulated machine (the tier's
//! contract: a translation does exactly what the interpreter does), only
//! to host speed and to the tier's own counters, which then vary from run
//! to run.
//!
//! Memory: the compiler thread owns the code memory (`Translator`).
//! Compiled code is freed only by a reset, which the simulating thread
//! sends after it has dropped every translation it holds (`Jit::flush`);
//! answers compiled before the reset carry the old epoch and are dropped
//! unread.
//!
//! Owns: the thread and the protocol. Must not touch: what a translation
//! is (`translate`), the tier's tables (`Jit`).

use super::translate::{Done, Translator};
use super::Trampoline;
use crate::cpu::code_cache::Block;
use crate::cpu::decode::OpTable;
use crate::cpu::Bus;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;

/// What the simulating thread asks for: the run of `block` (a copy, as it
/// was when asked) from word `entry`, at virtual `vbase`, with the
/// memories the registers pointed into then (`hints`). `slot`,
/// `generation` and `epoch` come back with the answer, to tell whether it
/// still applies.
pub(super) struct Request<B> {
    pub block: Box<Block<B>>,
    pub vbase: u32,
    pub entry: usize,
    pub hints: super::MemoryHints,
    pub latencies: super::Latencies,
    pub slot: usize,
    pub generation: u64,
    pub epoch: u64,
}

/// The answer to a `Request`.
pub(super) struct Answer {
    pub slot: usize,
    pub generation: u64,
    pub epoch: u64,
    pub entry: usize,
    pub result: Result<Done, String>,
}

// SAFETY: a `Done` holds a pointer to code in the compiler thread's code
// memory, which is never written again once finalized and is freed only by
// a reset that comes after the answer was dropped or installed and its
// translations dropped (see the module's header).
unsafe impl Send for Answer {}

enum Message<B> {
    Translate(Request<B>),
    /// Free all compiled code: the simulating thread holds none of it.
    Reset,
}

/// The compiler thread, seen from the simulating thread.
pub(super) struct Compiler<B> {
    requests: Option<mpsc::Sender<Message<B>>>,
    answers: mpsc::Receiver<Answer>,
    /// Answers sent and not yet received: one relaxed load per arrival
    /// tells the simulating thread whether to look.
    waiting: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
    trampoline: Trampoline,
}

impl<B: Bus> Compiler<B> {
    /// Start the thread; an error if it cannot start or Cranelift has no
    /// backend for this host.
    pub fn start() -> Result<Compiler<B>, String> {
        let (requests, inbox) = mpsc::channel::<Message<B>>();
        let (reply, answers) = mpsc::channel::<Answer>();
        let (ready, started) = mpsc::channel::<Result<Trampoline, String>>();
        let waiting = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&waiting);
        let thread = std::thread::Builder::new()
            .name("rp1-jit".into())
            .spawn(move || {
                let mut translator = match Translator::new() {
                    Ok(t) => t,
                    Err(e) => {
                        let _ = ready.send(Err(e));
                        return;
                    }
                };
                let table = OpTable::<B>::new();
                let _ = ready.send(Ok(translator.trampoline()));
                for message in inbox {
                    match message {
                        Message::Reset => translator.reset(),
                        Message::Translate(r) => {
                            let result = translator.translate::<B>(&r.block, &table, r.vbase, r.entry, &r.hints, &r.latencies);
                            let answer =
                                Answer { slot: r.slot, generation: r.generation, epoch: r.epoch, entry: r.entry, result };
                            // Counted before it is sent: the receiver never
                            // finds an answer it has not been told of
                            // without finding it at its next look.
                            counter.fetch_add(1, Ordering::Release);
                            if reply.send(answer).is_err() {
                                return;
                            }
                        }
                    }
                }
            })
            .map_err(|e| format!("cannot start the compiler thread: {e}"))?;
        let trampoline = started.recv().map_err(|_| "the compiler thread ended at its start".to_string())??;
        Ok(Compiler { requests: Some(requests), answers, waiting, thread: Some(thread), trampoline })
    }

    pub fn trampoline(&self) -> Trampoline {
        self.trampoline
    }

    /// Ask for a translation. False if the thread has gone (it never
    /// does while its `Compiler` lives, short of a panic in Cranelift).
    pub fn ask(&self, request: Request<B>) -> bool {
        self.requests.as_ref().is_some_and(|r| r.send(Message::Translate(request)).is_ok())
    }

    /// Free all compiled code, after every answer asked for before.
    pub fn reset(&self) {
        if let Some(r) = &self.requests {
            let _ = r.send(Message::Reset);
        }
    }

    /// Whether answers wait (one relaxed load).
    #[inline(always)]
    pub fn has_answers(&self) -> bool {
        self.waiting.load(Ordering::Relaxed) != 0
    }

    /// The next answer waiting, if any; with `wait`, the next answer
    /// (`None` only if the thread has gone).
    pub fn answer(&self, wait: bool) -> Option<Answer> {
        let a = if wait { self.answers.recv().ok()? } else { self.answers.try_recv().ok()? };
        self.waiting.fetch_sub(1, Ordering::Acquire);
        Some(a)
    }
}

impl<B> Drop for Compiler<B> {
    fn drop(&mut self) {
        // Closing the request channel ends the thread's loop after the
        // translation under way, if any.
        self.requests = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

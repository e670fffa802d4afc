//! What every subcommand writes: standard output, standard error and the
//! files it is told to write. One place decides what a failure to write
//! means, so that no subcommand panics on one and all of them end alike:
//!
//! * a standard stream whose reader has gone (a closed pipe: `rp1 hv
//!   d.toml | head -1`) ends the command quietly with status 141
//!   ([`CLOSED`]: 128 + SIGPIPE, what a shell reports for a command that
//!   a closed pipe stopped);
//! * any other failure to write a standard stream (`>/dev/full`) ends it
//!   with status 2 and a message naming the stream, on standard error if
//!   that can still be written;
//! * an output file is opened without truncating it, refused if it is the
//!   same file as one of the command's inputs (or another output), removed
//!   on failure only if the command created it, and every error writing it
//!   names it.
//!
//! Owns: these rules. Must not touch: what the subcommands print.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The exit status when a standard stream's reader has gone.
pub const CLOSED: u8 = 141;

/// Standard output or standard error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl fmt::Display for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stream::Stdout => "standard output",
            Stream::Stderr => "standard error",
        })
    }
}

/// Writing to a standard stream failed.
#[derive(Debug)]
pub struct StreamError {
    pub stream: Stream,
    pub error: io::Error,
}

impl StreamError {
    /// The stream's reader has gone (a closed pipe).
    pub fn closed(&self) -> bool {
        self.error.kind() == io::ErrorKind::BrokenPipe
    }

    /// Say what failed (unless the reader has gone) and give the exit
    /// status: [`CLOSED`] for a closed pipe, 2 otherwise.
    pub fn report(&self, prefix: &str) -> ExitCode {
        if self.closed() {
            return ExitCode::from(CLOSED);
        }
        let _ = writeln!(io::stderr(), "{prefix}: cannot write to {}: {}", self.stream, self.error);
        ExitCode::from(2)
    }
}

/// Write `args` to standard output and flush it, so that a failure shows
/// here and not when the process exits (where it would be lost).
pub fn write_out(args: fmt::Arguments<'_>) -> Result<(), StreamError> {
    let mut out = io::stdout().lock();
    out.write_fmt(args).and_then(|()| out.flush()).map_err(|error| StreamError { stream: Stream::Stdout, error })
}

/// Write `bytes` to standard output and flush it.
pub fn write_out_bytes(bytes: &[u8]) -> Result<(), StreamError> {
    let mut out = io::stdout().lock();
    out.write_all(bytes).and_then(|()| out.flush()).map_err(|error| StreamError { stream: Stream::Stdout, error })
}

/// Write `args` to standard error.
pub fn write_err(args: fmt::Arguments<'_>) -> Result<(), StreamError> {
    let mut err = io::stderr().lock();
    err.write_fmt(args).and_then(|()| err.flush()).map_err(|error| StreamError { stream: Stream::Stderr, error })
}

/// `print!` that returns a [`StreamError`] instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::commands::output::write_out(format_args!($($arg)*))
    };
}

/// `println!` that returns a [`StreamError`] instead of panicking.
macro_rules! outln {
    () => {
        $crate::commands::output::write_out(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::commands::output::write_out(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprint!` that returns a [`StreamError`] instead of panicking.
macro_rules! err {
    ($($arg:tt)*) => {
        $crate::commands::output::write_err(format_args!($($arg)*))
    };
}

/// `eprintln!` that returns a [`StreamError`] instead of panicking.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::commands::output::write_err(format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use {err, errln, out, outln};

/// How a subcommand failed, other than with an exit status of its own.
#[derive(Debug)]
pub enum Failure {
    /// Bad input or options, or an output file that cannot be written:
    /// status 2 with this message.
    Input(String),
    /// A standard stream cannot be written.
    Stream(StreamError),
}

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure::Input(message)
    }
}

impl From<StreamError> for Failure {
    fn from(e: StreamError) -> Failure {
        Failure::Stream(e)
    }
}

/// The exit status of a subcommand that returned `result`, after saying
/// why it failed (with `prefix`, e.g. "rp1").
pub fn finish(prefix: &str, result: Result<ExitCode, Failure>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(Failure::Input(message)) => match errln!("{prefix}: {message}") {
            Ok(()) => ExitCode::from(2),
            Err(e) => e.report(prefix),
        },
        Err(Failure::Stream(e)) => e.report(prefix),
    }
}

/// The exit status for clap's own output (help, version, a usage error):
/// its status if it could be printed, else as for any stream that fails.
pub fn clap_exit(e: clap::Error) -> ExitCode {
    let stream = if e.use_stderr() { Stream::Stderr } else { Stream::Stdout };
    match e.print() {
        Ok(()) => ExitCode::from(e.exit_code().clamp(0, 255) as u8),
        Err(error) => StreamError { stream, error }.report("rp1"),
    }
}

/// `output`, named by `flag`, unless it is the same file as one of
/// `others` (the command's inputs, and its outputs opened before): the
/// same device and inode, which also catches another path, a symbolic link
/// or a hard link to it. A path that does not exist yet is no other file.
pub fn check_not_input<S: AsRef<str>, P: AsRef<Path>>(flag: &str, output: &Path, others: &[(S, P)]) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let Ok(out) = std::fs::metadata(output) else { return Ok(()) };
    for (what, path) in others {
        let (what, path) = (what.as_ref(), path.as_ref());
        if let Ok(other) = std::fs::metadata(path) {
            if (other.dev(), other.ino()) == (out.dev(), out.ino()) {
                return Err(format!(
                    "{flag} {} is the same file as {what} {}: refusing to overwrite it; choose another path",
                    output.display(),
                    path.display()
                ));
            }
        }
    }
    Ok(())
}

/// A file a subcommand writes (`--trace FILE`, `--timeline FILE`, ...).
pub struct OutputFile {
    flag: &'static str,
    path: PathBuf,
    writer: BufWriter<File>,
    /// This command created the file (it did not exist before).
    created: bool,
}

impl OutputFile {
    /// Open `path` for writing, given on the command line as `flag`, after
    /// checking that it is none of `others` ([`check_not_input`]). An
    /// existing file is not truncated yet (see [`OutputFile::truncate`]),
    /// so a command that fails before writing leaves it as it was.
    pub fn open<S: AsRef<str>, P: AsRef<Path>>(
        flag: &'static str,
        path: &Path,
        others: &[(S, P)],
    ) -> Result<OutputFile, String> {
        check_not_input(flag, path, others)?;
        let named = |e: io::Error| format!("{flag} {}: {e}", path.display());
        let (file, created) = match OpenOptions::new().write(true).create_new(true).open(path) {
            Ok(file) => (file, true),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                (OpenOptions::new().write(true).open(path).map_err(named)?, false)
            }
            Err(e) => return Err(named(e)),
        };
        Ok(OutputFile { flag, path: path.to_path_buf(), writer: BufWriter::new(file), created })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Empty a regular file before writing it (a device such as /dev/null
    /// is written as it is).
    pub fn truncate(&mut self) -> Result<(), String> {
        let file = self.writer.get_mut();
        let regular = file.metadata().map(|m| m.is_file()).unwrap_or(false);
        if regular {
            file.set_len(0).map_err(|e| self.error(e))?;
        }
        Ok(())
    }

    /// "FLAG PATH: ERROR".
    pub fn error(&self, e: io::Error) -> String {
        format!("{} {}: {e}", self.flag, self.path.display())
    }

    pub fn write_all(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.writer.write_all(bytes).map_err(|e| format!("{} {}: {e}", self.flag, self.path.display()))
    }

    /// Flush what is buffered to the file.
    pub fn flush(&mut self) -> Result<(), String> {
        self.writer.flush().map_err(|e| format!("{} {}: {e}", self.flag, self.path.display()))
    }

    /// The buffered writer, for code that writes through `io::Write`; map
    /// its errors with [`OutputFile::error`].
    pub fn writer(&mut self) -> &mut BufWriter<File> {
        &mut self.writer
    }

    /// The file itself, what was buffered written, for a writer that
    /// streams to it on its own (the machine's trace).
    pub fn into_file(mut self) -> Result<File, String> {
        self.flush()?;
        let OutputFile { writer, .. } = self;
        Ok(writer.into_parts().0)
    }

    /// The command failed: remove the file if the command created it, and
    /// leave a file that was there before alone.
    pub fn discard(self) {
        let OutputFile { path, writer, created, .. } = self;
        drop(writer.into_parts());
        if created {
            let _ = std::fs::remove_file(&path);
        }
    }
}

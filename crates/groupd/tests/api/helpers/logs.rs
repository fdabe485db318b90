//! The server's log lines, kept for the test to inspect: a subprocess's stderr, or, in-process,
//! every event logged on the threads of that app's runtime (each app has its own runtime, so
//! tests running side by side in one process never see each other's lines). A panic on such a
//! thread is kept too. `TEST_LOG=1` also echoes the lines to the test's stderr.
use std::{
    cell::RefCell,
    io,
    sync::{Arc, Mutex, Once},
};

/// The log lines of one server.
pub type LogLines = Arc<Mutex<Vec<String>>>;

thread_local! {
    static SINK: RefCell<Option<LogLines>> = const { RefCell::new(None) };
}

/// Sends this thread's log lines to `lines` (called as each runtime thread starts).
pub fn attach(lines: LogLines) {
    install();
    SINK.with(|s| *s.borrow_mut() = Some(lines));
}

/// Keeps `text` (one or more lines) in this thread's sink, if it has one.
pub fn keep(text: &str) {
    if std::env::var_os("TEST_LOG").is_some() {
        eprint!("[groupd] {text}");
    }
    SINK.with(|s| {
        if let Some(lines) = &*s.borrow() {
            let mut lines = lines.lock().unwrap_or_else(|p| p.into_inner());
            lines.extend(text.lines().map(str::to_owned));
        }
    });
}

struct SinkWriter;

impl io::Write for SinkWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        keep(&String::from_utf8_lossy(buf));
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One subscriber for the test process, writing text lines as `groupd serve` does by default.
fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(|| SinkWriter)
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        let default_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            keep(&format!("thread panicked: {info}\n"));
            default_hook(info);
        }));
    });
}

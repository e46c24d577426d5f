//! Benchmark: how soon `bellhop shell` answers a person's first `/help`, on a fresh store and on
//! an existing one, and its resident memory once idle. Each binary given runs side by side in
//! one run, alternating, so the machine's load falls on all of them alike. `--terminal` runs the
//! shell on a pseudo-terminal (through `script`), so the line editor is part of the figure.
//!
//! Run it with `scripts/bench-shell`, which first builds the binary as it
//! is deployed (the `production` profile).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Something only the answer to `/help` prints.
const MARK: &str = "/incident declare";

/// How soon `bellhop shell` answers a first `/help`, binaries side by side.
#[derive(clap::Parser)]
struct Args {
    /// Runs per binary and store (fresh, existing).
    #[arg(long, default_value_t = 9, value_parser = clap::value_parser!(u64).range(1..))]
    runs: u64,
    /// Run the shell on a pseudo-terminal (util-linux `script`), line editor included.
    #[arg(long)]
    terminal: bool,
    /// The bellhop binaries to measure.
    #[arg(default_value = "target/production/bellhop")]
    binaries: Vec<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let Args { runs, terminal, binaries } = clap::Parser::parse();
    let binaries = binaries.iter().map(|b| bellhop_tests::binary(b)).collect::<anyhow::Result<Vec<_>>>()?;
    for binary in &binaries {
        bellhop_tests::same_page_cache(binary)?;
    }
    let mut fresh = vec![Vec::new(); binaries.len()];
    let mut existing = vec![Vec::new(); binaries.len()];
    let mut idle = vec![Vec::new(); binaries.len()];
    for _ in 0..runs {
        for (i, binary) in binaries.iter().enumerate() {
            let dir = tempfile::tempdir()?;
            fresh[i].push(first_answer(binary, dir.path(), terminal, false)?.0);
            let (answered, rss) = first_answer(binary, dir.path(), terminal, true)?;
            existing[i].push(answered);
            idle[i].push(rss);
        }
    }
    let mode = if terminal { "on a terminal (line editor)" } else { "with piped input" };
    println!("bellhop shell {mode}: start → first answer to /help, median of {runs} (min–max)");
    let names: Vec<String> = binaries.iter().map(|b| b.file_name().map_or("?".into(), |n| n.to_string_lossy().into_owned())).collect();
    row("", &names);
    row("fresh store (ms)", &fresh.iter().map(|d| spread(d)).collect::<Vec<_>>());
    row("existing store (ms)", &existing.iter().map(|d| spread(d)).collect::<Vec<_>>());
    row("idle resident memory (MiB)", &idle.iter().map(|k| format!("{:.1}", median_kib(k) as f64 / 1024.0)).collect::<Vec<_>>());
    if terminal {
        // What the harness costs by itself: `script` opening the terminal and its shell printing
        // the same line; the rest of the figures above is bellhop's.
        let floor = (0..runs).map(|_| pseudo_terminal_alone()).collect::<anyhow::Result<Vec<_>>>()?;
        row("the terminal alone (ms)", &[spread(&floor)]);
    }
    Ok(())
}

/// `script` opening a pseudo-terminal whose shell only echoes the line bellhop's answer is
/// recognised by, read as the benchmark reads bellhop.
fn pseudo_terminal_alone() -> anyhow::Result<Duration> {
    let mut command = Command::new("script");
    command.args(["-qfec", &format!("echo '{MARK}'"), "/dev/null"]).env_clear().env("TERM", "xterm");
    command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null());
    let started = Instant::now();
    let mut child = Guard(command.spawn()?);
    read_until_mark(child.0.stdout.take().expect("stdout"))?;
    Ok(started.elapsed())
}

/// Reads lines until one holds [`MARK`].
fn read_until_mark(out: impl std::io::Read) -> anyhow::Result<()> {
    let mut out = BufReader::new(out);
    let mut line = Vec::new();
    loop {
        line.clear();
        if out.read_until(b'\n', &mut line)? == 0 {
            anyhow::bail!("the output ended before the answer to /help");
        }
        if String::from_utf8_lossy(&line).contains(MARK) {
            return Ok(());
        }
    }
}

/// Starts the shell in `dir`, types `/help`, and returns when its answer was read and, when
/// `measure` is set, the resident memory a second later.
fn first_answer(binary: &Path, dir: &Path, terminal: bool, measure: bool) -> anyhow::Result<(Duration, u64)> {
    let mut command = if terminal {
        let mut script = Command::new("script");
        script.args(["-qfec", &format!("{} shell", binary.display()), "/dev/null"]);
        script
    } else {
        let mut command = Command::new(binary);
        command.arg("shell");
        command
    };
    command
        .current_dir(dir)
        .env_clear()
        .env("HOME", dir)
        .env("TERM", "xterm")
        .env("FRONTEND_URL", "http://127.0.0.1:9")
        .env("BELLHOP_HTTP_ADDR", "127.0.0.1:0")
        .env("BELLHOP_DATABASE_URL", format!("sqlite:{}", dir.join("bellhop.sqlite").display()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let started = Instant::now();
    let mut child = Guard(command.spawn()?);
    child.0.stdin.as_mut().expect("stdin").write_all(b"/help\n")?;
    read_until_mark(child.0.stdout.take().expect("stdout"))?;
    let answered = started.elapsed();
    let rss = if measure {
        std::thread::sleep(Duration::from_secs(1));
        // The kernel keeps a process's name to its first 15 bytes.
        let name: String = binary.file_name().map(|n| n.to_string_lossy().chars().take(15).collect()).unwrap_or_default();
        let pid = if terminal { descendant_named(child.0.id(), &name) } else { Some(child.0.id()) };
        pid.map_or(0, |pid| memory(pid, "VmRSS"))
    } else {
        0
    };
    Ok((answered, rss))
}

/// The first process named `name` under `pid`: `script` runs a shell, which runs bellhop.
fn descendant_named(pid: u32, name: &str) -> Option<u32> {
    let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).ok()?;
    children.split_whitespace().filter_map(|child| child.parse().ok()).find_map(|child: u32| {
        let comm = std::fs::read_to_string(format!("/proc/{child}/comm")).unwrap_or_default();
        if comm.trim() == name {
            Some(child)
        } else {
            descendant_named(child, name)
        }
    })
}

fn spread(durations: &[Duration]) -> String {
    let mut sorted = durations.to_vec();
    sorted.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!("{:.1} ({:.0}–{:.0})", ms(sorted[sorted.len() / 2]), ms(sorted[0]), ms(sorted[sorted.len() - 1]))
}

fn median_kib(values: &[u64]) -> u64 {
    let mut sorted = values.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

fn row(label: &str, cells: &[String]) {
    let cells: String = cells.iter().map(|c| format!("{c:>22}")).collect();
    println!("  {label:<28}{cells}");
}

/// A `/proc/<pid>/status` figure in kB.
fn memory(pid: u32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(key)?.trim_start_matches(':').trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Ends the shell (closing its input ends the conversation) when a run is over.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

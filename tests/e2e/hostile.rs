//! The attacker's families of issue 21 as one table: a few hostile inputs per family (targets and
//! options, store mutations, Convex faults, LLM faults, prior reports and reviews, the site, the
//! nightly, MCP, output safety), each run through the real CLI in a scratch folder of its own and
//! held to the same five rules: it exits 0, 1 or 2 (never a panic), it ends before the watchdog
//! (no hang), no registered secret and no byte of a file outside reaches any output or written
//! file in any form, nothing outside its folders changes, and its peak memory stays under 512 MiB.
//! One line of figures goes to stderr (cases, panics, hangs, leaks, writes outside, peak memory).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use evaltriage_tests::{
    EXAMPLE_RUN, FakeConvex, FakeLlm, copy_tree, eval_mut, example_reports, example_store, failed_step_mut,
};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::CLI_ENV;

/// Keys holding every character an escaper touches; their pieces (`Wxa1`, …) occur nowhere else,
/// so any form of a key (raw, escaped, cut) shows as a piece.
const DEPLOY_KEY: &str = "prod:Wxa1|Wxa2`Wxa3&Wxa4[Wxa5]Wxa6\"Wxa7\\Wxa8<Wxa9>Wxa0'";
const LLM_KEY: &str = "sk-Wxb1|Wxb2`Wxb3&Wxb4[Wxb5]Wxb6\"Wxb7\\Wxb8<Wxb9>Wxb0'";
const URL_PASSWORD: &str = "Wxc1-url-password";
/// The content of the file outside every folder a command may read; links lead to it.
const CANARY: &str = "Wxk1 the file outside the folders Wxk2";
/// The marks of a secret or of the outside file in any text.
const MARKS: [&str; 4] = ["Wxa", "Wxb", "Wxc", "Wxk"];
const EVAL: &str = "002-queries/015-paginate_messages";
/// A case still running after this is a hang, and killed.
const WATCHDOG: Duration = Duration::from_secs(30);
const MAX_PEAK_KIB: u64 = 512 * 1024;

/// One case's folders: `input` (stores and targets it reads), `work` (its working folder, where
/// it writes: reports, site), `outside` (a canary and a victim that must never be read or changed).
struct Scratch {
    _dir: tempfile::TempDir,
    base: PathBuf,
    input: PathBuf,
    work: PathBuf,
    outside: PathBuf,
}

impl Scratch {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().canonicalize().unwrap();
        let [input, work, outside] = ["in", "work", "outside"].map(|n| base.join(n));
        for d in [&input, &work, &outside, &base.join("home"), &base.join("tmp")] {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(outside.join("canary.txt"), CANARY).unwrap();
        std::fs::write(outside.join("victim.txt"), "precious").unwrap();
        Self { _dir: dir, base, input, work, outside }
    }

    fn reports(&self) -> PathBuf {
        self.work.join("reports")
    }

    /// A copy of the example store under `input`, its run document passed through `edit`.
    fn store(&self, edit: impl FnOnce(&mut Value)) -> PathBuf {
        let store = self.input.join("store");
        copy_tree(&example_store(), &store);
        let run_file = store.join("runs").join(format!("{EXAMPLE_RUN}.json"));
        let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(&run_file).unwrap()).unwrap();
        edit(&mut doc);
        std::fs::write(&run_file, doc.to_string()).unwrap();
        store
    }

    /// The store with every blob replaced by what `plant` makes at its path.
    fn store_with_blob(&self, plant: impl Fn(&Path)) -> PathBuf {
        let store = self.store(|_| {});
        let mut blobs: Vec<_> = std::fs::read_dir(store.join("blobs")).unwrap().flatten().map(|e| e.path()).collect();
        blobs.sort();
        // Each blob (an unpacked folder or a zip) becomes `<id>.zip` as `plant` makes it.
        for blob in &blobs {
            if blob.is_dir() {
                std::fs::remove_dir_all(blob).unwrap();
            } else {
                std::fs::remove_file(blob).unwrap();
            }
            let id = blob.file_name().unwrap().to_string_lossy().trim_end_matches(".zip").to_owned();
            plant(&blob.with_file_name(format!("{id}.zip")));
        }
        store
    }

    /// A copy of the fixture reports in `work/reports`.
    fn fixture_reports(&self) -> PathBuf {
        copy_tree(&example_reports(), &self.reports());
        self.reports()
    }
}

fn fifo(at: &Path) {
    std::fs::create_dir_all(at.parent().unwrap()).unwrap();
    let status = Command::new("mkfifo").arg(at).status().expect("mkfifo");
    assert!(status.success(), "mkfifo {}", at.display());
}

fn link(target: &Path, at: &Path) {
    std::fs::create_dir_all(at.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, at).unwrap();
}

/// A failure text carrying the deploy key and terminal controls, as a hostile deployment or store
/// sends it.
fn hostile_failure(doc: &mut Value) {
    let step = failed_step_mut(eval_mut(doc, EVAL));
    step["status"]["failureReason"] = format!(
        "Authorization: Convex {DEPLOY_KEY}\nmirror http://admin:{URL_PASSWORD}@10.0.0.7/ \u{1b}]0;title\u{7}\u{1b}[31mred\u{9b}2J\u{85}\u{202e}reversed =cmd|' /C calc'!A0"
    )
    .into();
}

/// What a case runs.
#[derive(Default)]
struct Invocation {
    args: Vec<String>,
    env: Vec<(&'static str, String)>,
    stdin: Option<String>,
    /// The terminal output must carry no control character (the input planted some).
    clean_terminal: bool,
}

fn invocation(args: &[&str]) -> Invocation {
    Invocation { args: args.iter().map(|a| (*a).to_owned()).collect(), ..Invocation::default() }
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// How a case ended.
struct Outcome {
    /// `None`: killed by the watchdog (a hang) or by a signal.
    code: Option<i32>,
    hung: bool,
    elapsed: Duration,
    peak_kib: u64,
    stdout: String,
    stderr: String,
}

/// Runs the CLI with a clean environment, its home and temp folders in the scratch, its streams
/// into files, sampling its peak resident memory, killed at the watchdog.
fn run_watched(scratch: &Scratch, inv: &Invocation) -> Outcome {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_evaltriage-e2e"));
    cmd.current_dir(&scratch.work).args(&inv.args);
    for var in CLI_ENV {
        cmd.env_remove(var);
    }
    cmd.env("NO_COLOR", "1").env("HOME", scratch.base.join("home")).env("TMPDIR", scratch.base.join("tmp"));
    cmd.envs(inv.env.iter().map(|(k, v)| (k, v)));
    let [out_path, err_path] = ["stdout", "stderr"].map(|n| scratch.base.join(n));
    cmd.stdout(std::fs::File::create(&out_path).unwrap()).stderr(std::fs::File::create(&err_path).unwrap());
    cmd.stdin(if inv.stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    let start = Instant::now();
    let mut child = cmd.spawn().expect("spawn the CLI");
    if let Some(input) = &inv.stdin {
        let mut pipe = child.stdin.take().unwrap();
        let _ = pipe.write_all(input.as_bytes());
    }
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0;
    let (code, hung) = loop {
        if let Ok(text) = std::fs::read_to_string(&status_file) {
            let hwm = text.lines().find_map(|l| l.strip_prefix("VmHWM:"));
            if let Some(kib) = hwm.and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok()) {
                peak_kib = peak_kib.max(kib);
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            break (status.code(), false);
        }
        if start.elapsed() > WATCHDOG {
            let _ = child.kill();
            let _ = child.wait();
            break (None, true);
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let read = |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
    Outcome { code, hung, elapsed: start.elapsed(), peak_kib, stdout: read(&out_path), stderr: read(&err_path) }
}

/// Every entry under `dir` without following links or opening anything: (kind, size, mtime), to
/// see that nothing there changed.
fn listing(dir: &Path) -> BTreeMap<PathBuf, (String, u64, Option<std::time::SystemTime>)> {
    let mut all = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let meta = std::fs::symlink_metadata(entry.path()).unwrap();
            if meta.is_dir() {
                todo.push(entry.path());
            }
            all.insert(entry.path(), (format!("{:?}", meta.file_type()), meta.len(), meta.modified().ok()));
        }
    }
    all
}

/// The text of every regular file under `dir` (links and FIFOs are not followed or opened), each
/// read up to 64 MiB.
fn written_text(dir: &Path) -> Vec<(PathBuf, String)> {
    use std::io::Read as _;
    listing(dir)
        .into_iter()
        .filter(|(_, (kind, ..))| kind.contains("is_file: true"))
        .map(|(path, _)| {
            let mut bytes = Vec::new();
            let _ = std::fs::File::open(&path).and_then(|f| f.take(64 << 20).read_to_end(&mut bytes));
            (path, String::from_utf8_lossy(&bytes).into_owned())
        })
        .collect()
}

/// A control character a terminal acts on: C0 (but tab and newline), DEL, C1, bidi overrides.
fn terminal_control(text: &str) -> Option<char> {
    text.chars().find(|&c| {
        (c.is_control() && c != '\n' && c != '\t' && c != '\r')
            || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c)
    })
}

/// The stand-in servers the cases talk to.
struct Servers {
    /// The example run, its failure text hostile (the key echoed, terminal controls).
    convex: FakeConvex,
    /// The example run, its blob downloads never answered.
    convex_silent_blobs: FakeConvex,
    /// The example run, every blob an 80 MB body.
    convex_huge_blobs: FakeConvex,
    /// Every query answered 429 with an endless `Retry-After`.
    convex_429: MockServer,
    /// Echoes its key into its reasoning.
    llm_echo: FakeLlm,
    /// Answers after a minute.
    llm_slow: FakeLlm,
    /// Answers 50 MB of content.
    llm_huge: MockServer,
}

impl Servers {
    async fn start() -> Self {
        let convex = FakeConvex::from_store(&example_store()).await;
        hostile_failure(convex.state.runs.lock().unwrap().get_mut(EXAMPLE_RUN).unwrap());
        let convex_silent_blobs = FakeConvex::from_store(&example_store()).await;
        Mock::given(method("GET"))
            .and(path_regex("^/api/storage/"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(600)))
            .with_priority(1)
            .mount(&convex_silent_blobs.server)
            .await;
        let convex_huge_blobs = FakeConvex::from_store(&example_store()).await;
        Mock::given(method("GET"))
            .and(path_regex("^/api/storage/"))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![b'P'; 80 << 20]))
            .with_priority(1)
            .mount(&convex_huge_blobs.server)
            .await;
        let convex_429 = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1e300"))
            .mount(&convex_429)
            .await;
        let llm_echo = FakeLlm::start().await;
        *llm_echo.state.echo.lock().unwrap() = Some(format!("Bearer {LLM_KEY} and {DEPLOY_KEY}"));
        let llm_slow = FakeLlm::start().await;
        llm_slow.set_latency(Duration::from_secs(600));
        let llm_huge = MockServer::start().await;
        let content = "x".repeat(50 << 20);
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "id": "c", "object": "chat.completion", "created": 1, "model": "m",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            })))
            .mount(&llm_huge)
            .await;
        Self { convex, convex_silent_blobs, convex_huge_blobs, convex_429, llm_echo, llm_slow, llm_huge }
    }
}

type Setup = fn(&Scratch, &Servers) -> Invocation;

/// `analyze-run` of a store with the rules, into `work/reports`.
fn analyze_store(sc: &Scratch, store: &Path, more: &[&str]) -> Invocation {
    let mut inv = invocation(&["analyze-run", s(store), "--classifier", "rules", "--reports-dir", s(&sc.reports())]);
    inv.args.extend(more.iter().map(|a| (*a).to_owned()));
    inv
}

/// `analyze-run` of the example run from a deployment, with the deploy key set.
fn analyze_convex(sc: &Scratch, url: &str, more: &[&str]) -> Invocation {
    let mut inv = invocation(&["analyze-run", EXAMPLE_RUN, "--convex-url", url, "--reports-dir", s(&sc.reports())]);
    inv.args.extend(more.iter().map(|a| (*a).to_owned()));
    inv.env.push(("CONVEX_DEPLOY_KEY", DEPLOY_KEY.to_owned()));
    inv
}

/// `analyze-run` of the example store with an LLM, with its key set.
fn analyze_llm(sc: &Scratch, base_url: &str, more: &[&str]) -> Invocation {
    let store = sc.store(|_| {});
    let mut inv = analyze_store(sc, &store, &["--classifier", "llm", "--llm-base-url", base_url]);
    inv.args.extend(more.iter().map(|a| (*a).to_owned()));
    inv.env.push(("OPENAI_API_KEY", LLM_KEY.to_owned()));
    inv
}

/// The MCP server fed `calls` (tool calls and resource reads) after the handshake, then EOF.
fn mcp(sc: &Scratch, store: &Path, calls: &[Value]) -> Invocation {
    let mut lines = vec![
        json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-03-26", "capabilities": {}, "clientInfo": {"name": "hostile", "version": "0"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    ];
    lines.extend(calls.iter().enumerate().map(|(i, call)| {
        let mut call = call.clone();
        call["jsonrpc"] = json!("2.0");
        call["id"] = json!(i + 1);
        call
    }));
    let mut inv = invocation(&["mcp", "--store", s(store), "--reports-dir", s(&sc.reports()), "--classifier", "rules"]);
    inv.stdin = Some(lines.iter().map(|l| format!("{l}\n")).collect());
    inv
}

fn today() -> String {
    chrono::Utc::now().date_naive().format("%Y-%m-%d").to_string()
}

const CASES: &[(&str, &str, Setup)] = &[
    // Targets and options.
    ("targets", "a fifo as the target", |sc, _| {
        fifo(&sc.input.join("run.json"));
        analyze_store(sc, &sc.input.join("run.json"), &[])
    }),
    ("targets", "a run id climbing out of the store", |sc, _| {
        let store = sc.store(|_| {});
        invocation(&["runs", "show", &format!("{EXAMPLE_RUN}/../../../outside/canary"), "--store", s(&store)])
    }),
    ("targets", "terminal controls in an option", |sc, _| {
        let store = sc.store(|_| {});
        Invocation { clean_terminal: true, ..analyze_store(sc, &store, &["--concurrency", "9\u{1b}]0;X\u{7}\u{202e}"]) }
    }),
    ("targets", "a reports folder that is a link loop", |sc, _| {
        let store = sc.store(|_| {});
        link(&sc.work.join("loop"), &sc.work.join("loop"));
        let mut inv = analyze_store(sc, &store, &[]);
        inv.args.extend(["--reports-dir".to_owned(), s(&sc.work.join("loop")).to_owned()]);
        inv
    }),
    ("targets", "absurd numbers", |sc, _| {
        let store = sc.store(|_| {});
        analyze_store(sc, &store, &["--deadline", "1e300", "--concurrency", "0", "--reuse-days", "-1"])
    }),
    ("targets", "a file path climbing out of the zip", |sc, _| {
        let store = sc.store(|_| {});
        invocation(&["evals", "show", s(&store), EVAL, "--file", "../../../../outside/canary.txt"])
    }),
    // Store mutations.
    ("store", "fifo blobs", |sc, _| {
        let store = sc.store_with_blob(fifo);
        analyze_store(sc, &store, &[])
    }),
    ("store", "blobs linked to /dev/zero", |sc, _| {
        let store = sc.store_with_blob(|at| link(Path::new("/dev/zero"), at));
        analyze_store(sc, &store, &[])
    }),
    ("store", "blobs linked outside", |sc, _| {
        let canary = sc.outside.join("canary.txt");
        let store = sc.store_with_blob(|at| link(&canary, at));
        analyze_store(sc, &store, &[])
    }),
    ("store", "blobs of 3 GiB", |sc, _| {
        let store = sc.store_with_blob(|at| std::fs::File::create(at).unwrap().set_len(3 << 30).unwrap());
        analyze_store(sc, &store, &[])
    }),
    ("store", "the run document linked to /dev/zero", |sc, _| {
        let store = sc.store(|_| {});
        let doc = store.join("runs").join(format!("{EXAMPLE_RUN}.json"));
        std::fs::remove_file(&doc).unwrap();
        link(Path::new("/dev/zero"), &doc);
        invocation(&["runs", "show", EXAMPLE_RUN, "--store", s(&store)])
    }),
    ("store", "runs/ a fifo", |sc, _| {
        let store = sc.store(|_| {});
        std::fs::remove_dir_all(store.join("runs")).unwrap();
        fifo(&store.join("runs"));
        invocation(&["runs", "list", "--store", s(&store)])
    }),
    // Convex faults.
    ("convex", "an echoed key and terminal controls", |sc, sv| Invocation {
        clean_terminal: true,
        ..analyze_convex(sc, &sv.convex.url(), &["--classifier", "rules"])
    }),
    ("convex", "evals show of the echoed failure", |_, sv| {
        let mut inv = invocation(&["evals", "show", EXAMPLE_RUN, EVAL, "--convex-url", &sv.convex.url(), "--full"]);
        inv.env.push(("CONVEX_DEPLOY_KEY", DEPLOY_KEY.to_owned()));
        Invocation { clean_terminal: true, ..inv }
    }),
    ("convex", "url userinfo", |sc, sv| {
        let url = sv.convex.url().replace("http://", &format!("http://reader:{URL_PASSWORD}@"));
        analyze_convex(sc, &url, &["--classifier", "rules"])
    }),
    ("convex", "blob downloads that never answer", |sc, sv| {
        analyze_convex(sc, &sv.convex_silent_blobs.url(), &["--classifier", "rules", "--deadline", "4"])
    }),
    ("convex", "80 MB blobs", |sc, sv| analyze_convex(sc, &sv.convex_huge_blobs.url(), &["--classifier", "rules"])),
    ("convex", "429 with an endless retry-after", |sc, sv| {
        analyze_convex(sc, &sv.convex_429.uri(), &["--classifier", "rules", "--deadline", "3"])
    }),
    // LLM faults.
    ("llm", "a key echoed in the reasoning", |sc, sv| analyze_llm(sc, &sv.llm_echo.base_url(), &[])),
    ("llm", "an endpoint that never answers", |sc, sv| {
        analyze_llm(sc, &sv.llm_slow.base_url(), &["--llm-timeout", "1", "--deadline", "6"])
    }),
    ("llm", "50 MB of content", |sc, sv| analyze_llm(sc, &format!("{}/v1", sv.llm_huge.uri()), &[])),
    // Prior reports and reviews.
    ("priors", "a fifo as a prior report", |sc, _| {
        let reports = sc.fixture_reports();
        fifo(&reports.join("anthropic/claude-sonnet-4.5/jn000000_2026-01-01.md"));
        let store = sc.store(|_| {});
        analyze_store(sc, &store, &[])
    }),
    ("priors", "a prior report linked outside", |sc, _| {
        let reports = sc.fixture_reports();
        link(&sc.outside.join("canary.txt"), &reports.join("anthropic/claude-sonnet-4.5/jn000000_2026-01-01.md"));
        let store = sc.store(|_| {});
        analyze_store(sc, &store, &[])
    }),
    ("priors", "a non-UTF-8 report listed", |sc, _| {
        let reports = sc.fixture_reports();
        let at = reports.join("openai/gpt-5.1/jn000000_2026-01-01.md");
        std::fs::write(&at, b"# Run analysis\n\xff\xfe\x1b]0;x\x07 bytes\n").unwrap();
        Invocation { clean_terminal: true, ..invocation(&["reports", "list", "--reports-dir", s(&reports)]) }
    }),
    ("priors", "a review through a link outside", |sc, _| {
        let reports = sc.fixture_reports();
        let at = reports.join("openai/gpt-5.1/jn000000_2026-01-01.md");
        link(&sc.outside.join("victim.txt"), &at);
        invocation(&[
            "reports",
            "review",
            s(&at),
            EVAL,
            "--label",
            "model-fault",
            "--note",
            "=HYPERLINK(\"x\")",
            "--reports-dir",
            s(&reports),
        ])
    }),
    ("priors", "csv export of formula notes", |sc, _| {
        let reports = sc.fixture_reports();
        invocation(&["reports", "export", "--format", "csv", "--reports-dir", s(&reports)])
    }),
    // The site.
    ("site", "reports and digests linked outside or fifos", |sc, _| {
        let reports = sc.fixture_reports();
        link(&sc.outside.join("canary.txt"), &reports.join("openai/gpt-5.1/jn000000_2026-01-01.md"));
        link(&sc.outside.join("canary.txt"), &reports.join("nightly/2026-01-01.md"));
        fifo(&reports.join("nightly/2026-01-02.md"));
        invocation(&["site", "--out", s(&sc.work.join("site")), "--reports-dir", s(&reports)])
    }),
    // The nightly.
    ("nightly", "the nightly lock linked to a victim", |sc, _| {
        let store = sc.store(|_| {});
        link(&sc.outside.join("victim.txt"), &sc.reports().join(".evaltriage/nightly.lock"));
        invocation(&["nightly", "--store", s(&store), "--reports-dir", s(&sc.reports()), "--classifier", "rules"])
    }),
    ("nightly", "today's digest linked outside", |sc, _| {
        let store = sc.store(|_| {});
        link(&sc.outside.join("canary.txt"), &sc.reports().join(format!("nightly/{}.md", today())));
        invocation(&["nightly", "--store", s(&store), "--reports-dir", s(&sc.reports()), "--classifier", "rules"])
    }),
    ("nightly", "state and digest fifos", |sc, _| {
        let store = sc.store(|_| {});
        fifo(&sc.reports().join(".evaltriage/nightly.json"));
        fifo(&sc.reports().join(format!("nightly/{}.md", today())));
        invocation(&["nightly", "--store", s(&store), "--reports-dir", s(&sc.reports()), "--classifier", "rules"])
    }),
    // MCP.
    ("mcp", "paths climbing out", |sc, _| {
        let store = sc.store(|_| {});
        let reports = sc.fixture_reports();
        link(&sc.outside.join("canary.txt"), &reports.join("openai/gpt-5.1/jn000000_2026-01-01.md"));
        mcp(
            sc,
            &store,
            &[
                json!({"method": "tools/call", "params": {"name": "evals_show", "arguments": {"target": s(&store), "eval": EVAL, "file": "../../../../outside/canary.txt"}}}),
                json!({"method": "tools/call", "params": {"name": "reports_show", "arguments": {"report": "../outside/canary.txt"}}}),
                json!({"method": "tools/call", "params": {"name": "reports_show", "arguments": {"report": "openai/gpt-5.1/jn000000_2026-01-01.md"}}}),
                json!({"method": "resources/read", "params": {"uri": "report://../../outside/canary.txt"}}),
                json!({"method": "tools/call", "params": {"name": "evals_show", "arguments": {"target": 7, "eval": [], "extra": "\u{1b}"}}}),
            ],
        )
    }),
    // Output safety: a store whose failure text carries the key and terminal controls.
    ("output", "evals show of a hostile failure text", |sc, _| {
        let store = sc.store(hostile_failure);
        let mut inv = invocation(&["evals", "show", s(&store), EVAL, "--full"]);
        inv.env.push(("CONVEX_DEPLOY_KEY", DEPLOY_KEY.to_owned()));
        Invocation { clean_terminal: true, ..inv }
    }),
    ("output", "a report and its json from a hostile failure text", |sc, _| {
        let store = sc.store(hostile_failure);
        let mut inv = analyze_store(sc, &store, &["--json"]);
        inv.env.push(("CONVEX_DEPLOY_KEY", DEPLOY_KEY.to_owned()));
        Invocation { clean_terminal: true, ..inv }
    }),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hostile_input_ends_cleanly_bounded_and_leaks_nothing() {
    let servers = Servers::start().await;
    let servers = &servers;
    let mut problems = Vec::new();
    let (mut panics, mut hangs, mut leaks, mut outside_changes, mut max_peak_kib) = (0, 0, 0, 0, 0);
    for (family, name, setup) in CASES {
        let scratch = Scratch::new();
        let inv = setup(&scratch, servers);
        let before = (listing(&scratch.outside), listing(&scratch.input));
        let outcome = tokio::task::block_in_place(|| run_watched(&scratch, &inv));
        let case = format!("{family}: {name}");
        let said = || format!("exit {:?} after {:?}\nstderr: {}", outcome.code, outcome.elapsed, outcome.stderr);
        max_peak_kib = max_peak_kib.max(outcome.peak_kib);
        if outcome.hung {
            hangs += 1;
            problems.push(format!("{case}: still running after {WATCHDOG:?}: {}", said()));
            continue;
        }
        if outcome.stderr.contains("panicked") || !matches!(outcome.code, Some(0..=2)) {
            panics += 1;
            problems.push(format!("{case}: not an exit code of ours: {}", said()));
        }
        let mut texts =
            vec![(PathBuf::from("stdout"), outcome.stdout.clone()), (PathBuf::from("stderr"), outcome.stderr.clone())];
        texts.extend(written_text(&scratch.work));
        let leaked: Vec<String> = texts
            .iter()
            .filter_map(|(place, text)| {
                let marks: Vec<_> = MARKS.iter().filter(|m| text.contains(**m)).collect();
                (!marks.is_empty()).then(|| format!("{} holds {marks:?}", place.display()))
            })
            .collect();
        if !leaked.is_empty() {
            leaks += 1;
            problems.push(format!("{case}: {leaked:?}: {}", said()));
        }
        if inv.clean_terminal {
            for (stream, text) in [("stdout", &outcome.stdout), ("stderr", &outcome.stderr)] {
                if let Some(c) = terminal_control(text) {
                    leaks += 1;
                    problems.push(format!("{case}: {stream} carries the control {c:?}: {}", said()));
                }
            }
        }
        if (listing(&scratch.outside), listing(&scratch.input)) != before
            || std::fs::read_to_string(scratch.outside.join("victim.txt")).ok().as_deref() != Some("precious")
        {
            outside_changes += 1;
            problems.push(format!("{case}: a file outside its working folder changed: {}", said()));
        }
        if outcome.peak_kib > MAX_PEAK_KIB {
            problems.push(format!("{case}: peak memory {} MiB: {}", outcome.peak_kib / 1024, said()));
        }
    }
    #[expect(clippy::print_stderr, reason = "the figures of the hostile run, for the issue's note")]
    {
        eprintln!(
            "hostile inputs: {} cases, {panics} panics, {hangs} hangs, {leaks} leaks, {outside_changes} writes outside, max peak RSS {} MiB",
            CASES.len(),
            max_peak_kib / 1024
        );
    }
    assert!(problems.is_empty(), "{} of {} cases misbehaved:\n{}", problems.len(), CASES.len(), problems.join("\n\n"));
}

//! Runs `wrk` (a C load generator, much lighter than an HTTP client in this process) against
//! the in-process server and reads its summary.

use std::process::Command;

/// What one `wrk` run measured.
pub struct WrkRun {
    pub name: String,
    pub connections: usize,
    pub requests: u64,
    pub rate: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

impl WrkRun {
    pub fn row(&self) -> String {
        format!(
            "| {} | {} | {} | {:.0} | {:.2} | {:.2} |",
            self.name, self.connections, self.requests, self.rate, self.p50_ms, self.p99_ms
        )
    }
}

fn milliseconds(value: &str) -> Option<f64> {
    let split = value.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = value.split_at(split);
    let number: f64 = number.parse().ok()?;
    Some(match unit {
        "us" => number / 1000.0,
        "ms" => number,
        "s" => number * 1000.0,
        "m" => number * 60_000.0,
        _ => return None,
    })
}

/// Runs `script` (Lua, see wrk's documentation) for `seconds` with `connections` over
/// `threads` threads; panics when any answer was not 2xx, so a broken case cannot pass
/// as fast.
pub fn run(
    name: &str,
    url: &str,
    script: &str,
    connections: usize,
    threads: usize,
    seconds: u64,
) -> WrkRun {
    let path = std::env::temp_dir().join(format!("rolegate-wrk-{}.lua", std::process::id()));
    std::fs::write(&path, script).expect("writes the wrk script");
    let output = Command::new("wrk")
        .args([
            &format!("-t{threads}"),
            &format!("-c{connections}"),
            &format!("-d{seconds}s"),
            "--latency",
            "-s",
        ])
        .arg(&path)
        .arg(url)
        .output()
        .expect("runs wrk");
    let _ = std::fs::remove_file(&path);
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(output.status.success(), "wrk failed: {text}");
    assert!(
        !text.contains("Non-2xx") && !text.contains("Socket errors"),
        "{name}: wrk saw failures:\n{text}"
    );
    let field = |prefix: &str| {
        text.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(prefix))
            .map(|rest| rest.trim().to_string())
    };
    let rate = field("Requests/sec:")
        .and_then(|v| v.parse().ok())
        .expect("wrk printed Requests/sec");
    let requests = text
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("wrk printed the request count");
    let p50_ms = field("50%").and_then(|v| milliseconds(&v)).expect("p50");
    let p99_ms = field("99%").and_then(|v| milliseconds(&v)).expect("p99");
    WrkRun {
        name: name.to_string(),
        connections,
        requests,
        rate,
        p50_ms,
        p99_ms,
    }
}

/// A Lua table literal of strings.
pub fn lua_list(values: &[String]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| format!("\"{v}\"")).collect();
    format!("{{{}}}", quoted.join(","))
}

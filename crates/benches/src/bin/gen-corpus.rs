//! Writes a benchmark corpus to standard output: `gen-corpus mixed LINES HOSTS` (the real
//! sample lines, cycled) or `gen-corpus user-parsers COUNT LINES PARSER_FILE [simple|backtracking]`
//! (generated user parsers, written to PARSER_FILE, and lines for them; the shape of their
//! regexes: see `PatternShape`).

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize| args.get(i).and_then(|s| s.parse::<usize>().ok());
    let lines = match args.first().map(String::as_str) {
        Some("mixed") => {
            let (Some(n), Some(hosts)) = (number(1), number(2)) else {
                return usage();
            };
            let samples =
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../parse/tests/samples");
            match shieldwall_benches::log_corpus(&samples, n, hosts) {
                Ok(lines) => lines,
                Err(e) => {
                    eprintln!("gen-corpus: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        Some("user-parsers") => {
            let (Some(count), Some(n), Some(file)) = (number(1), number(2), args.get(3)) else {
                return usage();
            };
            let shape = match args.get(4).map(String::as_str) {
                None | Some("simple") => shieldwall_benches::PatternShape::Simple,
                Some("backtracking") => shieldwall_benches::PatternShape::Backtracking,
                Some(_) => return usage(),
            };
            let (yaml, lines) = shieldwall_benches::user_parser_set(count, n, shape);
            if let Err(e) = std::fs::write(file, yaml) {
                eprintln!("gen-corpus: {file}: {e}");
                return ExitCode::FAILURE;
            }
            lines
        }
        _ => return usage(),
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for line in lines {
        if writeln!(out, "{line}").is_err() {
            return ExitCode::FAILURE;
        }
    }
    if out.flush().is_err() {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: gen-corpus mixed LINES HOSTS | gen-corpus user-parsers COUNT LINES PARSER_FILE [simple|backtracking]"
    );
    ExitCode::from(2)
}

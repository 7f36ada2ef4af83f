//! A small test runner for test binaries with `harness = false`: those that re-execute
//! themselves as another program (a cluster supervisor and its workers, a child that must
//! crash) and so need their own `main`.
//!
//! It takes libtest's usual arguments (test name filters, `--list`, and ignores the options it
//! has no use for), runs each chosen test in turn, catching its panic, and prints libtest's
//! summary line; it exits with 101 if any failed, as libtest does.

/// Exit code of a run with a failed test (libtest's).
const FAILED_EXIT_CODE: i32 = 101;

/// Runs the tests named on the command line (all if none): `(name, body)` pairs.
pub fn run_tests(tests: &[(&str, fn())]) {
    let mut filters = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--list" => {
                for (name, _) in tests {
                    println!("{name}: test");
                }
                return;
            }
            "--test-threads" | "--format" | "--color" | "--skip" | "-Z" => {
                args.next();
            }
            a if a.starts_with('-') => {}
            a => filters.push(a.to_string()),
        }
    }
    let chosen: Vec<_> = tests
        .iter()
        .filter(|(name, _)| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str())))
        .collect();
    println!("\nrunning {} tests", chosen.len());
    let (mut passed, mut failed) = (0, 0);
    for (name, test) in &chosen {
        println!("test {name} ...");
        match std::panic::catch_unwind(*test) {
            Ok(()) => {
                println!("test {name} ... ok");
                passed += 1;
            }
            Err(_) => {
                println!("test {name} ... FAILED");
                failed += 1;
            }
        }
    }
    let verdict = if failed == 0 { "ok" } else { "FAILED" };
    println!(
        "\ntest result: {verdict}. {passed} passed; {failed} failed; 0 ignored; 0 measured; {} filtered out\n",
        tests.len() - chosen.len()
    );
    if failed > 0 {
        std::process::exit(FAILED_EXIT_CODE);
    }
}

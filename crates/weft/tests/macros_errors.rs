//! `#[weft::main]` / `#[weft::test]`: misuse is a compile error pointing at the user's code
//! (tests/ui/err_*.rs, with the expected messages in the .stderr files beside them), and a
//! correct `main` compiles and runs (tests/ui/pass_*.rs).

#[test]
fn macro_errors_point_at_the_users_code() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/err_*.rs");
    cases.pass("tests/ui/pass_*.rs");
}

//! `#[weft::main(loops = N)]` returns the body's value: here an `Ok`, so the program exits 0.

#[weft::main(loops = 2)]
async fn main() -> std::io::Result<()> {
    assert_eq!(weft::rt::Handle::current().loops(), 2);
    let n = weft::spawn(async { 21 * 2 }).await.unwrap();
    if n != 42 {
        return Err(std::io::Error::other("wrong answer"));
    }
    Ok(())
}

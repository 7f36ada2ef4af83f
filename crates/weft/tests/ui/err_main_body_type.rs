#[weft::main]
async fn main() -> Result<(), std::io::Error> {
    let n: u32 = "not a number";
    Ok(())
}

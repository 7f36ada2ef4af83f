#[weft::main(loops = "four")]
async fn main() {}

#[weft::main(current_thread, loops = 2)]
async fn main() {}

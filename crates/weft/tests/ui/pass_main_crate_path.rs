//! `crate = "..."` names weft through another path (here a re-export).

mod reexport {
    pub use weft as renamed;
}

#[weft::main(current_thread, crate = "reexport::renamed")]
async fn main() {
    assert_eq!(reexport::renamed::rt::Handle::current().loops(), 0);
}

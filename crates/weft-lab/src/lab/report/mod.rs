//! stub
use std::io; use std::path::Path;
pub(crate) mod table { pub(crate) fn render_all(_r: &super::Report) -> String { String::new() } }
#[derive(Debug)] pub(crate) struct Machine { pub(crate) cpu_model: String, pub(crate) cpus: usize, pub(crate) kernel: String, pub(crate) memory_mb: u64, pub(crate) limits: Vec<(String,String)>, pub(crate) server_cpus: String, pub(crate) load_cpus: String }
#[derive(Debug)] pub(crate) struct Report { pub(crate) scenarios: Vec<()>, pub(crate) elapsed_s: f64 }
impl Report { pub(crate) fn load(_d: &Path) -> io::Result<Report> { todo!() } pub(crate) fn save(&self, _d: &Path) -> io::Result<()> { Ok(()) } }
pub(crate) fn write_renderings(_r: &Report, _d: &Path) -> io::Result<()> { Ok(()) }

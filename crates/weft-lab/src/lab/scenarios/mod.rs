//! stub
use std::io;
use super::catalog::{ModelKind, ScenarioKind};
#[derive(Debug)]
pub(crate) struct Plan { pub(crate) scenarios: Vec<ScenarioKind>, pub(crate) models: Vec<ModelKind>, pub(crate) quick: bool }
pub(crate) fn run(_plan: &Plan) -> io::Result<super::report::Report> { todo!() }

// Makes `cargo test` link (and find at run time) the libpython of the interpreter pyo3 picked,
// instead of whatever libpython the system linker finds first. A no-op under maturin.
fn main() {
    pyo3_build_config::use_pyo3_cfgs();
    pyo3_build_config::add_libpython_rpath_link_args();
}

//! Cached handles on Python objects the bindings call often (helpers of the Python face,
//! stdlib callables), imported once per interpreter.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

/// `static NAME: PyOnceLock<Py<PyAny>>` resolved from `module.attr` on first use.
pub struct Cached {
    module: &'static str,
    attr: &'static str,
    cell: PyOnceLock<Py<PyAny>>,
}

impl Cached {
    pub const fn new(module: &'static str, attr: &'static str) -> Self {
        Cached { module, attr, cell: PyOnceLock::new() }
    }

    pub fn get<'py>(&self, py: Python<'py>) -> PyResult<&Bound<'py, PyAny>> {
        self.cell
            .get_or_try_init(py, || Ok(py.import(self.module)?.getattr(self.attr)?.unbind()))
            .map(|obj| obj.bind(py))
    }
}

pub static OBJ_TO_REF: Cached = Cached::new("apscheduler_rs.util", "obj_to_ref");
pub static REF_TO_OBJ: Cached = Cached::new("apscheduler_rs.util", "ref_to_obj");
pub static GET_CALLABLE_NAME: Cached = Cached::new("apscheduler_rs.util", "get_callable_name");
pub static CHECK_CALLABLE_ARGS: Cached = Cached::new("apscheduler_rs.util", "check_callable_args");
pub static CONVERT_TO_DATETIME: Cached = Cached::new("apscheduler_rs.util", "convert_to_datetime");
pub static BASE_TRIGGER: Cached = Cached::new("apscheduler_rs.triggers.base", "BaseTrigger");
pub static ITERABLE: Cached = Cached::new("collections.abc", "Iterable");
pub static MAPPING: Cached = Cached::new("collections.abc", "Mapping");
pub static INSPECT_ISMETHOD: Cached = Cached::new("inspect", "ismethod");
pub static INSPECT_ISCLASS: Cached = Cached::new("inspect", "isclass");
pub static FORMAT_TB: Cached = Cached::new("traceback", "format_tb");
pub static COMPAT_LOADS: Cached = Cached::new("apscheduler_rs._compat", "loads");

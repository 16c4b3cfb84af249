//! Restoring stored jobs as job records without Python's `pickle` (issue #4).
//!
//! [`crate::core::job_state`] decodes a state without the GIL; this module makes the Python
//! parts of the job (callable, name, arguments) and the record. All the rows of a store (cold
//! start, `get_jobs()`) are decoded on two threads while they are read, with the GIL released
//! ([`fetch_and_decode`]), then made jobs with it ([`Fetched::restore`]). A state
//! the decoder leaves alone comes back as `Err(bytes)` for the caller's Python path
//! (`_compat.loads` + `Job.__setstate__`), which also produces the exact errors of unrestorable
//! rows.
//!
//! The Python trigger object is not created here: the job keeps the stored bytes and creates it
//! from them on first use (`Job.trigger`, `__getstate__`, `str(job)`); the engine only needs the
//! native trigger, which is built at once.

use crate::core::job_state::{CompiledZones, DecodedJob, DecodedTrigger, Plain, StateReader, ZoneKeys};
use crate::core::store::sql::{Row, RowError, RowResult, RowStore, in_schedule_order};
use crossbeam_channel::Receiver;
use crate::core::time::Zone;
use crate::py::job::{JobFields, JobRecord, JobRef, TriggerTemplate, NextRunBytes, StoredTrigger, TriggerSlot, shared_alias, shared_empty_kwargs};
use crate::py::pyref::REF_TO_OBJ;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};
use rustc_hash::FxHashMap as HashMap;
use std::borrow::Cow;
use std::sync::Arc;

/// What the jobs of one batch share: the pickle reader's buffers, and callables, names and
/// zones looked up once per batch (a batch is one call: `get_jobs()`, one processing pass,
/// one lookup).
#[derive(Default)]
pub struct RestoreCache {
    reader: StateReader,
    known: Known,
}

/// A callable's reference text as a Python str, and the callable.
type Resolved = (Py<PyString>, Py<PyAny>);

#[derive(Default)]
struct Known {
    /// reference text -> (the reference as a Python str, the resolved callable); `None`: the
    /// reference does not resolve (the Python path raises and logs the error)
    funcs: HashMap<Box<str>, Option<Resolved>>,
    names: HashMap<Box<str>, Py<PyString>>,
    /// The callable and the name of the last job (with the text they were found by).
    last_func: Option<(Box<str>, Option<Resolved>)>,
    last_name: Option<(Box<str>, Py<PyString>)>,
    /// The executor alias of the previous job (jobs of one store mostly share one).
    executor: Option<Arc<str>>,
    /// `ZoneInfo` key -> zone (`None`: Python does not accept the key)
    zoneinfo: HashMap<Box<str>, Option<Zone>>,
    templates: Vec<(Zone, Option<Arc<TriggerTemplate>>)>,
}

/// [`Known`] with the GIL, as the decoder's zone lookup.
struct PyZones<'k, 'py> {
    py: Python<'py>,
    known: &'k mut Known,
}

impl ZoneKeys for PyZones<'_, '_> {
    fn zone(&mut self, key: &str) -> Option<Zone> {
        self.known.zoneinfo(self.py, key)
    }
}

impl Known {
    fn func(&mut self, py: Python<'_>, text: &str) -> Option<Resolved> {
        // Rows of one store mostly share a callable: the last one is checked first.
        if let Some((last, known)) = &self.last_func
            && **last == *text
        {
            return known.as_ref().map(|(r, f)| (r.clone_ref(py), f.clone_ref(py)));
        }
        let known = match self.funcs.get(text) {
            Some(known) => known.as_ref().map(|(r, f)| (r.clone_ref(py), f.clone_ref(py))),
            None => {
                let r = PyString::new(py, text);
                let f = REF_TO_OBJ.get(py).ok().and_then(|to_obj| to_obj.call1((&r,)).ok());
                let known = f.map(|f| (r.unbind(), f.unbind()));
                if self.funcs.len() < 10_000 {
                    self.funcs.insert(text.into(), known.as_ref().map(|(r, f)| (r.clone_ref(py), f.clone_ref(py))));
                }
                known
            }
        };
        self.last_func = Some((text.into(), known.as_ref().map(|(r, f)| (r.clone_ref(py), f.clone_ref(py)))));
        known
    }

    fn executor(&mut self, text: &str) -> Arc<str> {
        match &self.executor {
            Some(e) if &**e == text => e.clone(),
            _ => {
                let e = shared_alias(text);
                self.executor = Some(e.clone());
                e
            }
        }
    }

    fn name(&mut self, py: Python<'_>, text: &str) -> Py<PyString> {
        if let Some((last, n)) = &self.last_name
            && **last == *text
        {
            return n.clone_ref(py);
        }
        let n = match self.names.get(text) {
            Some(n) => n.clone_ref(py),
            None => {
                let n = PyString::new(py, text).unbind();
                if self.names.len() < 10_000 {
                    self.names.insert(text.into(), n.clone_ref(py));
                }
                n
            }
        };
        self.last_name = Some((text.into(), n.clone_ref(py)));
        n
    }

    /// The zone of `ZoneInfo(key)`, asking Python once per key whether it exists.
    fn zoneinfo(&mut self, py: Python<'_>, key: &str) -> Option<Zone> {
        if let Some(z) = self.zoneinfo.get(key) {
            return *z;
        }
        let zone = (|| -> PyResult<Zone> {
            let tz = py.import("zoneinfo")?.getattr("ZoneInfo")?.call1((key,))?;
            crate::py::time::zone_from_tzinfo(&tz)
        })()
        .ok();
        if self.zoneinfo.len() < 1_000 {
            self.zoneinfo.insert(key.into(), zone);
        }
        zone
    }

    /// The record of a decoded job (`None`: its callable does not resolve or an argument is
    /// not a Python value, e.g. a list as a dict key; the Python path reports it).
    ///
    /// The record keeps the stored bytes (to make its trigger object from them on first use,
    /// and to write a next run time into them in place: see `JobRecord::stored_state_with_next`)
    /// unless `keep` is [`Keep::Fields`] and its trigger is a plain interval trigger, which
    /// then takes the compact form jobs added from the alias take (a listing of 100,000 jobs
    /// need not hold 45 MB of pickles).
    fn record(&mut self, py: Python<'_>, job: DecodedJob, state: Vec<u8>, keep: Keep) -> Result<JobRef, Vec<u8>> {
        let Some((func_ref, func)) = self.func(py, job.func.get(&state)) else { return Err(state) };
        let args = match &job.args {
            Plain::Tuple(items) if items.is_empty() => PyTuple::empty(py).into_any(),
            args => match plain_object(py, args) {
                Some(a) => a,
                None => return Err(state),
            },
        };
        let kwargs = match &job.kwargs {
            kwargs if kwargs.is_empty_container() => shared_empty_kwargs(py).clone().into_any(),
            kwargs => match plain_object(py, kwargs) {
                Some(k) => k,
                None => return Err(state),
            },
        };
        let mut fields = JobFields::default();
        fields.name = Some(self.name(py, job.name.get(&state)).into_any());
        fields.executor = Some(self.executor(job.executor.get(&state)));
        fields.func = Some(func);
        fields.func_ref = Some(func_ref.into_any());
        fields.args = Some(args.unbind());
        fields.kwargs = Some(kwargs.unbind());
        fields.coalesce = Some(job.coalesce);
        fields.next_run_time = Some(job.next_run_time);
        fields.set_misfire_grace_time(job.misfire_grace_time);
        fields.set_max_instances(job.max_instances);
        let compact = match (&job.trigger, keep) {
            (DecodedTrigger::Interval(t), Keep::Fields) => {
                self.interval_template(py, t.zone).and_then(|template| TriggerSlot::compact_interval(&template, t))
            }
            _ => None,
        };
        fields.trigger = Some(compact.unwrap_or_else(|| {
            let next_run_at =
                job.next_run_time.zip(job.next_run_offset).map(|(t, offset)| NextRunBytes { offset, zone: t.zone });
            let (state, native) = (state.into_boxed_slice(), job.trigger.native());
            TriggerSlot::Stored(Box::new(StoredTrigger { state, native, next_run_at }))
        }));
        Ok(Arc::new(JobRecord::with_fields(job.id, fields)))
    }

    /// The template of plain interval triggers in `zone`, looked up once per zone.
    fn interval_template(&mut self, py: Python<'_>, zone: Zone) -> Option<Arc<TriggerTemplate>> {
        if let Some((_, template)) = self.templates.iter().find(|(z, _)| *z == zone) {
            return template.clone();
        }
        let tz = crate::py::time::zone_to_tzinfo(py, &zone).ok()?.into_any().unbind();
        let template = TriggerTemplate::plain_interval(py, tz, zone);
        if self.templates.len() < 64 {
            self.templates.push((zone, template.clone()));
        }
        template
    }
}

/// What a restored record keeps of its row.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// The stored bytes: a job about to run (its next run time is written into them).
    State,
    /// What `get_jobs()` shows: the bytes only when the trigger cannot be held compactly.
    Fields,
}

/// A Python object for a plain value.
fn plain_object<'py>(py: Python<'py>, value: &Plain) -> Option<Bound<'py, PyAny>> {
    let items = |items: &[Plain]| items.iter().map(|i| plain_object(py, i)).collect::<Option<Vec<_>>>();
    Some(match value {
        Plain::None => py.None().into_bound(py),
        Plain::Bool(b) => pyo3::types::PyBool::new(py, *b).to_owned().into_any(),
        Plain::Int(v) => v.into_pyobject(py).ok()?.into_any(),
        Plain::Float(v) => v.into_pyobject(py).ok()?.into_any(),
        Plain::Str(s) => PyString::new(py, s).into_any(),
        Plain::Bytes(b) => PyBytes::new(py, b).into_any(),
        Plain::Tuple(v) => PyTuple::new(py, items(v)?).ok()?.into_any(),
        Plain::List(v) => PyList::new(py, items(v)?).ok()?.into_any(),
        Plain::Dict(pairs) => {
            let d = PyDict::new(py);
            for (k, v) in pairs {
                d.set_item(plain_object(py, k)?, plain_object(py, v)?).ok()?;
            }
            d.into_any()
        }
    })
}

/// A record restored natively from a stored state, or `Err` giving the bytes back when the
/// state has a shape this decoder does not handle (the caller then uses Python's pickle).
pub fn decode_job<'s>(py: Python<'_>, cache: &mut RestoreCache, state: Cow<'s, [u8]>) -> Result<JobRef, Cow<'s, [u8]>> {
    let RestoreCache { reader, known } = cache;
    match reader.decode(&mut PyZones { py, known }, &state) {
        Some(job) => known.record(py, job, state.into_owned(), Keep::State).map_err(Cow::Owned),
        None => Err(state),
    }
}

/// Every row of a store, read and decoded without the GIL ([`fetch_and_decode`]).
pub struct Fetched {
    chunks: Vec<DecodedChunk>,
    zones: Vec<CompiledZones>,
}

impl Fetched {
    /// The rows restored, in the order of [`RowStore::all`], each with its id.
    pub fn restore(mut self, py: Python<'_>, cache: &mut RestoreCache) -> Vec<(String, Result<JobRef, Vec<u8>>)> {
        // The compiled zone database and Python's `zoneinfo` may disagree about a key (a
        // system without that zone): then every row takes the path that asks Python.
        let agree = self.zones.iter().flat_map(|z| z.seen()).all(|(key, zone)| cache.known.zoneinfo(py, key) == zone);
        // Rows stay in their chunks (no copy of 100,000 decoded jobs): chunk `c` holds the
        // rows numbered from `starts[c]`.
        let mut starts = Vec::with_capacity(self.chunks.len());
        let mut times = Vec::new();
        for chunk in &self.chunks {
            starts.push(times.len());
            times.extend(chunk.rows.iter().map(|r| r.next_run_time));
        }
        in_schedule_order(&times)
            .into_iter()
            .map(|n| {
                let c = starts.partition_point(|s| *s <= n) - 1;
                let chunk = &mut self.chunks[c];
                let (row, job) = (&mut chunk.rows[n - starts[c]], chunk.jobs[n - starts[c]].take());
                let state = std::mem::take(&mut row.state);
                let job = match job {
                    Some(job) if agree => cache.known.record(py, job, state, Keep::Fields),
                    _ if !agree => decode_job(py, cache, Cow::Owned(state)).map_err(Cow::into_owned),
                    _ => Err(state),
                };
                (std::mem::take(&mut row.id), job)
            })
            .collect()
    }
}

/// Rows as read, and what the decoder made of each.
struct DecodedChunk {
    rows: Vec<Row>,
    jobs: Vec<Option<DecodedJob>>,
}

/// One decoding thread's buffers.
#[derive(Default)]
struct Decoding {
    reader: StateReader,
    zones: CompiledZones,
}

impl Decoding {
    fn chunk(&mut self, rows: Vec<Row>) -> DecodedChunk {
        let jobs = rows.iter().map(|r| self.reader.decode(&mut self.zones, &r.state)).collect();
        DecodedChunk { rows, jobs }
    }

    /// Decodes numbered chunks until the channel closes.
    fn all(&mut self, chunks: &Receiver<(usize, Vec<Row>)>) -> Vec<(usize, DecodedChunk)> {
        chunks.iter().map(|(n, rows)| (n, self.chunk(rows))).collect()
    }
}

/// Reads every row of `store` in chunks on this thread while a second one decodes them (this
/// thread joins in once the reading is done). Call it with the GIL released.
pub fn fetch_and_decode(store: &dyn RowStore) -> RowResult<Fetched> {
    let (tx, rx) = crossbeam_channel::unbounded::<(usize, Vec<Row>)>();
    std::thread::scope(|scope| {
        let mut helper = None;
        let (mut first, mut count) = (None, 0);
        let read = store.all_chunks(&mut |rows| {
            // A store of one chunk is decoded here, without a thread.
            if count == 0 {
                first = Some(rows);
            } else {
                helper.get_or_insert_with(|| {
                    let rx = rx.clone();
                    scope.spawn(move || {
                        let mut decoding = Decoding::default();
                        let chunks = decoding.all(&rx);
                        (chunks, decoding.zones)
                    })
                });
                // The receivers live until the end of this scope: sending cannot fail.
                let _ = tx.send((count, rows));
            }
            count += 1;
        });
        drop(tx);
        let mut mine = Decoding::default();
        let mut chunks: Vec<(usize, DecodedChunk)> = first.map(|rows| (0, mine.chunk(rows))).into_iter().collect();
        chunks.extend(mine.all(&rx));
        let mut zones = vec![mine.zones];
        if let Some(helper) = helper {
            // A panic there is a bug; its rows must not vanish silently.
            let (theirs, their_zones) =
                helper.join().map_err(|_| RowError::Backend("the decoding thread failed".into()))?;
            chunks.extend(theirs);
            zones.push(their_zones);
        }
        read?;
        chunks.sort_unstable_by_key(|(n, _)| *n);
        Ok(Fetched { chunks: chunks.into_iter().map(|(_, c)| c).collect(), zones })
    })
}

/// `_core._native_restorable(state)`: whether a stored job state takes the native path (for
/// tests: the shapes it covers must not silently fall back to Python's pickle).
#[pyfunction]
#[pyo3(name = "_native_restorable")]
pub fn native_restorable(py: Python<'_>, state: &[u8]) -> bool {
    decode_job(py, &mut RestoreCache::default(), Cow::Borrowed(state)).is_ok()
}

//! Restoring stored jobs as job records without Python's `pickle` (issue #4).
//!
//! [`crate::core::job_state`] decodes a state without the GIL; this module makes the Python
//! parts of the job (callable, name, arguments) and the record. All the rows of a store (cold
//! start, `get_jobs()`) are read on a thread of their own while the caller's thread decodes and
//! restores them ([`fetch_and_restore`]). A state the decoder leaves alone comes back as
//! `Err(bytes)` for the caller's Python path (`_compat.loads` + `Job.__setstate__`), which also
//! produces the exact errors of unrestorable rows.
//!
//! The Python trigger object is not created here: the job keeps the stored bytes and creates it
//! from them on first use (`Job.trigger`, `__getstate__`, `str(job)`); the engine only needs the
//! native trigger, which is built at once.

use crate::core::job_state::{CompiledZones, DecodedJob, DecodedTrigger, Plain, StateReader, ZoneKeys};
use crate::core::store::sql::{RowChunk, RowError, RowResult, RowStore, in_schedule_order};
use crate::core::time::Zone;
use crate::core::trigger::interval::IntervalTrigger;
use crate::py::job::{
    CompactInterval, JobFields, JobRecord, JobRef, NextRunBytes, StoredTrigger, TriggerSlot, TriggerTemplate,
    shared_alias, shared_empty_kwargs,
};
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
    last_func: Option<(Arc<str>, Option<Resolved>)>,
    last_name: Option<(Arc<str>, Py<PyString>)>,
    /// The executor alias of the previous job (jobs of one store mostly share one).
    executor: Option<Arc<str>>,
    /// `ZoneInfo` key -> zone (`None`: Python does not accept the key)
    zoneinfo: HashMap<Box<str>, Option<Zone>>,
    templates: Vec<(Zone, Option<Arc<TriggerTemplate>>)>,
    /// The last plain interval trigger made compact, and its compact form.
    last_compact: Option<(Arc<IntervalTrigger>, Arc<TriggerTemplate>, CompactInterval)>,
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
    fn func(&mut self, py: Python<'_>, text: &Arc<str>) -> Option<Resolved> {
        // Rows of one store mostly share a callable: the last one is checked first (the
        // decoder hands out one text while the rows repeat it).
        if let Some((last, known)) = &self.last_func
            && (Arc::ptr_eq(last, text) || *last == *text)
        {
            return known.as_ref().map(|(r, f)| (r.clone_ref(py), f.clone_ref(py)));
        }
        let known = match self.funcs.get(&**text) {
            Some(known) => known.as_ref().map(|(r, f)| (r.clone_ref(py), f.clone_ref(py))),
            None => {
                let r = PyString::new(py, text);
                let f = REF_TO_OBJ.get(py).ok().and_then(|to_obj| to_obj.call1((&r,)).ok());
                let known = f.map(|f| (r.unbind(), f.unbind()));
                if self.funcs.len() < 10_000 {
                    self.funcs.insert((**text).into(), known.as_ref().map(|(r, f)| (r.clone_ref(py), f.clone_ref(py))));
                }
                known
            }
        };
        self.last_func = Some((text.clone(), known.as_ref().map(|(r, f)| (r.clone_ref(py), f.clone_ref(py)))));
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

    fn name(&mut self, py: Python<'_>, text: &Arc<str>) -> Py<PyString> {
        if let Some((last, n)) = &self.last_name
            && (Arc::ptr_eq(last, text) || *last == *text)
        {
            return n.clone_ref(py);
        }
        let n = match self.names.get(&**text) {
            Some(n) => n.clone_ref(py),
            None => {
                let n = PyString::new(py, text).unbind();
                if self.names.len() < 10_000 {
                    self.names.insert((**text).into(), n.clone_ref(py));
                }
                n
            }
        };
        self.last_name = Some((text.clone(), n.clone_ref(py)));
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

    /// The record of a decoded job, holding `state` (the stored bytes, to make its trigger
    /// object from on first use and to write a next run time into in place: see
    /// `JobRecord::stored_state_with_next`) unless `keep` is [`Keep::Fields`] and its trigger
    /// is a plain interval trigger, which then takes the compact form jobs added from the
    /// alias take (a listing of 100,000 jobs need not hold 45 MB of pickles).
    ///
    /// `Err` gives back the state it was given when the job cannot be made here: its
    /// callable does not resolve, an argument is not a Python value (a list as a dict key),
    /// or it needs a state it was not given. The caller then takes Python's path, which
    /// reports such a row.
    fn record(
        &mut self,
        py: Python<'_>,
        job: &DecodedJob,
        state: Option<Box<[u8]>>,
        keep: Keep,
    ) -> Result<JobRef, Option<Box<[u8]>>> {
        let Some((func_ref, func)) = self.func(py, &job.func) else { return Err(state) };
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
        let compact = match (&job.trigger, keep) {
            (DecodedTrigger::PlainInterval(t), Keep::Fields) => self.compact_interval(py, t),
            _ => None,
        };
        let trigger = match (compact, state) {
            (Some(compact), _) => compact,
            (None, Some(state)) => {
                let next_run_at =
                    job.next_run_time.zip(job.next_run_offset).map(|(t, offset)| NextRunBytes { offset, zone: t.zone });
                TriggerSlot::Stored(Box::new(StoredTrigger { state, native: job.trigger.native(), next_run_at }))
            }
            (None, None) => return Err(None),
        };
        let mut fields = JobFields::default();
        fields.name = Some(self.name(py, &job.name).into_any());
        fields.executor = Some(self.executor(&job.executor));
        fields.func = Some(func);
        fields.func_ref = Some(func_ref.into_any());
        fields.args = Some(args.unbind());
        fields.kwargs = Some(kwargs.unbind());
        fields.coalesce = Some(job.coalesce);
        fields.next_run_time = Some(job.next_run_time);
        fields.set_misfire_grace_time(job.misfire_grace_time);
        fields.set_max_instances(job.max_instances);
        fields.trigger = Some(trigger);
        Ok(Arc::new(JobRecord::with_fields(job.id.clone(), fields)))
    }

    /// The compact form of a plain interval trigger (the last one's again while the decoder
    /// hands out one trigger for rows of the same shape).
    fn compact_interval(&mut self, py: Python<'_>, trigger: &Arc<IntervalTrigger>) -> Option<TriggerSlot> {
        if let Some((last, template, compact)) = &self.last_compact
            && Arc::ptr_eq(last, trigger)
        {
            return Some(TriggerSlot::Interval(template.clone(), *compact));
        }
        let template = self.interval_template(py, trigger.zone)?;
        let slot = TriggerSlot::compact_interval(&template, trigger)?;
        if let TriggerSlot::Interval(template, compact) = &slot {
            self.last_compact = Some((trigger.clone(), template.clone(), *compact));
        }
        Some(slot)
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
    let Some(job) = reader.decode(&mut PyZones { py, known }, &state) else { return Err(state) };
    let state = state.into_owned().into_boxed_slice();
    // `record` gives back the state it was given, so the `None` of `unwrap_or_default` is
    // never taken.
    known
        .record(py, &job, Some(state), Keep::State)
        .map_err(|state| Cow::Owned(state.map(Vec::from).unwrap_or_default()))
}

/// A row restored as a record, or `Err((id, state))` for Python's path.
pub type Restored = Result<JobRef, (String, Vec<u8>)>;

/// What the decoder made of the rows of one chunk.
struct DecodedChunk {
    /// Each row's `next_run_time` column.
    times: Vec<Option<f64>>,
    rows: Vec<DecodedRow>,
    /// Every zone key the decoding thread has looked up so far, when this chunk added one
    /// (empty otherwise): the GIL side checks them against Python's `zoneinfo`.
    zones: Vec<(Box<str>, Option<Zone>)>,
}

#[allow(clippy::large_enum_variant)] // the large variant is the common one
enum DecodedRow {
    /// `state`: the stored bytes, kept unless the job can do without them
    /// ([`DecodedJob::holds_without_state`]); `id`: the id column, when it is not the state's.
    Job { job: DecodedJob, state: Option<Box<[u8]>>, id: Option<Box<str>> },
    /// A state the decoder leaves to Python.
    Python { id: Box<str>, state: Box<[u8]> },
}

/// One thread's decoding buffers.
#[derive(Default)]
struct Decoding {
    reader: StateReader,
    zones: CompiledZones,
    /// How many zone keys the last chunk reported.
    zones_reported: usize,
}

impl Decoding {
    fn chunk(&mut self, rows: &RowChunk) -> DecodedChunk {
        let mut times = Vec::with_capacity(rows.len());
        let mut decoded = Vec::with_capacity(rows.len());
        for (id, next_run_time, state) in rows.rows() {
            times.push(next_run_time);
            decoded.push(match self.reader.decode(&mut self.zones, state) {
                Some(job) => DecodedRow::Job {
                    state: (!job.holds_without_state()).then(|| state.into()),
                    id: (!job.id.with_str(|own| own == id)).then(|| id.into()),
                    job,
                },
                None => DecodedRow::Python { id: id.into(), state: state.into() },
            });
        }
        let mut zones = Vec::new();
        if self.zones.len() != self.zones_reported {
            self.zones_reported = self.zones.len();
            zones = self.zones.seen().map(|(key, zone)| (key.into(), zone)).collect();
        }
        DecodedChunk { times, rows: decoded, zones }
    }
}

/// A chunk on its way from the reading thread: still to decode, or decoded there.
enum Fetched {
    Read(RowChunk),
    Decoded(DecodedChunk),
}

/// The rows of one `get_jobs()` as they are restored and kept: in reading order with their
/// `next_run_time` (`None`: a row not kept, or to read again once the reading is done).
struct Restoring<T> {
    rows: Vec<(Option<f64>, Option<T>)>,
    reread: Vec<(usize, Box<str>)>,
    /// Whether every zone key decoded so far means the same zone to Python's `zoneinfo` as to
    /// the compiled database. Once not (a system without some zone), every later row takes
    /// the path that asks Python.
    zones_agree: bool,
}

impl<T> Restoring<T> {
    fn chunk(
        &mut self,
        py: Python<'_>,
        cache: &mut RestoreCache,
        chunk: DecodedChunk,
        keep: &mut dyn FnMut(Restored) -> Option<T>,
    ) {
        if self.zones_agree {
            self.zones_agree = chunk.zones.iter().all(|(key, zone)| cache.known.zoneinfo(py, key) == *zone);
        }
        for (time, row) in chunk.times.into_iter().zip(chunk.rows) {
            let (id, state) = match row {
                DecodedRow::Job { job, state, id } => {
                    let state = match self.zones_agree {
                        true => match cache.known.record(py, &job, state, Keep::Fields) {
                            Ok(job) => {
                                self.rows.push((time, keep(Ok(job))));
                                continue;
                            }
                            Err(state) => state,
                        },
                        false => state,
                    };
                    (id.unwrap_or_else(|| job.id.to_string().into()), state)
                }
                DecodedRow::Python { id, state } => (id, Some(state)),
            };
            let Some(state) = state else {
                // The decoder did not keep the bytes: read again when the reading is done.
                self.reread.push((self.rows.len(), id));
                self.rows.push((time, None));
                continue;
            };
            let restored = decode_job(py, cache, Cow::Owned(state.into_vec()));
            self.rows.push((time, keep(restored.map_err(|state| (id.into_string(), state.into_owned())))));
        }
    }

    /// The rows kept, in the order of [`RowStore::all`], after reading again those that need
    /// it (`reread` gives a row's stored bytes, or `None` once it is gone).
    fn finish(
        mut self,
        py: Python<'_>,
        cache: &mut RestoreCache,
        reread: &mut dyn FnMut(&str) -> RowResult<Option<Vec<u8>>>,
        keep: &mut dyn FnMut(Restored) -> Option<T>,
    ) -> RowResult<Vec<T>> {
        for (at, id) in std::mem::take(&mut self.reread) {
            if let Some(state) = reread(&id)? {
                let restored = decode_job(py, cache, Cow::Owned(state));
                self.rows[at].1 = keep(restored.map_err(|state| (id.into_string(), state.into_owned())));
            } // else: removed meanwhile
        }
        let order = in_schedule_order(&self.rows.iter().map(|(time, _)| *time).collect::<Vec<_>>());
        Ok(order.into_iter().filter_map(|n| self.rows[n].1.take()).collect())
    }
}

/// Every row of `store` restored and passed to `keep`, and what it kept, in the order of
/// [`RowStore::all`] (cold start, `get_jobs()`).
///
/// A thread of its own reads the rows in chunks (without the GIL) while this one, holding it,
/// decodes, restores and keeps them, so that the work of the two overlaps: the reader decodes
/// a chunk itself whenever the previous one is still waiting here, and gets emptied chunks
/// back to fill again, so the reading allocates little. `reread` reads one row again (its
/// stored bytes, or `None` once it is gone) for the rare job that cannot be made a record
/// without bytes the decoder did not keep; it is called once the reading is done (the reader
/// holds the store's connection until then).
pub fn fetch_and_restore<T>(
    py: Python<'_>,
    store: &dyn RowStore,
    reread: &mut dyn FnMut(&str) -> RowResult<Option<Vec<u8>>>,
    keep: &mut dyn FnMut(Restored) -> Option<T>,
) -> RowResult<Vec<T>> {
    let (tx, rx) = crossbeam_channel::unbounded::<Fetched>();
    // A few chunks in flight are enough to keep both threads busy.
    let (emptied_tx, emptied) = crossbeam_channel::bounded::<RowChunk>(4);
    let mut cache = RestoreCache::default();
    let mut restoring = Restoring { rows: Vec::new(), reread: Vec::new(), zones_agree: true };
    std::thread::scope(|scope| {
        let reader = std::thread::Builder::new()
            .name("apscheduler-read".into())
            .spawn_scoped(scope, move || {
                let mut decoding = Decoding::default();
                store.all_chunks(&mut |mut rows| {
                    if tx.is_empty() {
                        // The receiver lives until the end of this scope: sending cannot fail.
                        let _ = tx.send(Fetched::Read(rows));
                        return emptied.try_recv().unwrap_or_default();
                    }
                    let _ = tx.send(Fetched::Decoded(decoding.chunk(&rows)));
                    rows.clear();
                    rows
                })
            })
            .map_err(|e| RowError::Backend(format!("cannot start a reading thread: {e}")))?;
        let mut decoding = Decoding::default();
        loop {
            // A chunk already there is taken at once; waiting gives the GIL up.
            let fetched = match rx.try_recv() {
                Ok(fetched) => fetched,
                Err(_) => match py.detach(|| rx.recv()) {
                    Ok(fetched) => fetched,
                    Err(_) => break, // the reader is done
                },
            };
            let chunk = match fetched {
                Fetched::Decoded(chunk) => chunk,
                Fetched::Read(mut rows) => {
                    let chunk = decoding.chunk(&rows);
                    rows.clear();
                    // The reader may have finished: a chunk it does not take back is dropped.
                    let _ = emptied_tx.try_send(rows);
                    chunk
                }
            };
            restoring.chunk(py, &mut cache, chunk, keep);
        }
        // A panic there is a bug; its rows must not vanish silently.
        reader.join().map_err(|_| RowError::Backend("the reading thread failed".into()))?
    })?;
    restoring.finish(py, &mut cache, reread, keep)
}

/// `_core._native_restorable(state)`: whether a stored job state takes the native path (for
/// tests: the shapes it covers must not silently fall back to Python's pickle).
#[pyfunction]
#[pyo3(name = "_native_restorable")]
pub fn native_restorable(py: Python<'_>, state: &[u8]) -> bool {
    decode_job(py, &mut RestoreCache::default(), Cow::Borrowed(state)).is_ok()
}

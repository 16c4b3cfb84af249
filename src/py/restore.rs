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
use crate::core::store::sql::{RowChunk, RowError, RowResult, RowStore, in_schedule_order};
use crate::core::time::Zone;
use crate::core::trigger::interval::IntervalTrigger;
use crate::py::job::{
    CompactInterval, JobFields, JobRecord, JobRef, NextRunBytes, StoredTrigger, TriggerSlot, TriggerTemplate,
    shared_alias, shared_empty_kwargs,
};
use crate::py::pyref::REF_TO_OBJ;
use crossbeam_channel::{Receiver, Sender};
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

/// Every row of a store, read and decoded without the GIL ([`fetch_and_decode`]).
pub struct Fetched {
    chunks: Vec<DecodedChunk>,
    zones: Vec<CompiledZones>,
}

impl Fetched {
    /// The rows restored, in the order of [`RowStore::all`]. `reread` reads a row again
    /// (its stored bytes, or `None` once it is gone) in the rare case a decoded job cannot be
    /// made a record without bytes the decoder did not keep.
    pub fn restore(
        mut self,
        py: Python<'_>,
        cache: &mut RestoreCache,
        reread: &mut dyn FnMut(&str) -> RowResult<Option<Vec<u8>>>,
    ) -> RowResult<Vec<Restored>> {
        // The compiled zone database and Python's `zoneinfo` may disagree about a key (a
        // system without that zone): then every row is read again and takes the path that
        // asks Python.
        let agree = self.zones.iter().flat_map(|z| z.seen()).all(|(key, zone)| cache.known.zoneinfo(py, key) == zone);
        // Rows stay in their chunks (no copy of 100,000 decoded jobs): chunk `c` holds the
        // rows numbered from `starts[c]`.
        let mut starts = Vec::with_capacity(self.chunks.len());
        let mut times = Vec::new();
        for chunk in &self.chunks {
            starts.push(times.len());
            times.extend_from_slice(&chunk.times);
        }
        let mut restored = Vec::with_capacity(times.len());
        for n in in_schedule_order(&times) {
            let c = starts.partition_point(|s| *s <= n) - 1;
            // Rows not made records here take Python's path, with their bytes (`None`: the
            // decoder did not keep them, so the row is read again).
            let (id, state) = match &mut self.chunks[c].rows[n - starts[c]] {
                DecodedRow::Job { job, state, id } => {
                    let state = match agree {
                        true => match cache.known.record(py, job, state.take(), Keep::Fields) {
                            Ok(job) => {
                                restored.push(Ok(job));
                                continue;
                            }
                            Err(state) => state,
                        },
                        false => state.take(),
                    };
                    (id.as_deref().map(String::from).unwrap_or_else(|| job.id.to_string()), state)
                }
                DecodedRow::Python { id, state } => (id.to_string(), Some(std::mem::take(state))),
            };
            let state = match state {
                Some(state) => state.into_vec(),
                None => match reread(&id)? {
                    Some(state) => state,
                    None => continue, // removed meanwhile
                },
            };
            restored.push(decode_job(py, cache, Cow::Owned(state)).map_err(|state| (id, state.into_owned())));
        }
        Ok(restored)
    }
}

/// What the decoder made of the rows of one chunk.
struct DecodedChunk {
    /// Each row's `next_run_time` column.
    times: Vec<Option<f64>>,
    rows: Vec<DecodedRow>,
}

#[allow(clippy::large_enum_variant)] // the large variant is the common one
enum DecodedRow {
    /// `state`: the stored bytes, kept unless the job can do without them
    /// ([`DecodedJob::holds_without_state`]); `id`: the id column, when it is not the state's.
    Job { job: DecodedJob, state: Option<Box<[u8]>>, id: Option<Box<str>> },
    /// A state the decoder leaves to Python.
    Python { id: Box<str>, state: Box<[u8]> },
}

/// One decoding thread's buffers.
#[derive(Default)]
struct Decoding {
    reader: StateReader,
    zones: CompiledZones,
}

impl Decoding {
    fn chunk(&mut self, rows: &RowChunk) -> DecodedChunk {
        let mut decoded = DecodedChunk { times: Vec::with_capacity(rows.len()), rows: Vec::with_capacity(rows.len()) };
        for (id, next_run_time, state) in rows.rows() {
            decoded.times.push(next_run_time);
            decoded.rows.push(match self.reader.decode(&mut self.zones, state) {
                Some(job) => DecodedRow::Job {
                    state: (!job.holds_without_state()).then(|| state.into()),
                    id: (!job.id.with_str(|own| own == id)).then(|| id.into()),
                    job,
                },
                None => DecodedRow::Python { id: id.into(), state: state.into() },
            });
        }
        decoded
    }

    /// Decodes numbered chunks until the channel closes, handing each chunk back emptied.
    fn all(&mut self, chunks: &Receiver<(usize, RowChunk)>, emptied: &Sender<RowChunk>) -> Vec<(usize, DecodedChunk)> {
        chunks
            .iter()
            .map(|(n, mut rows)| {
                let decoded = self.chunk(&rows);
                rows.clear();
                // The reader may have finished: a chunk it does not take back is dropped.
                let _ = emptied.try_send(rows);
                (n, decoded)
            })
            .collect()
    }
}

/// Reads every row of `store` in chunks on this thread while a second one decodes them (this
/// thread joins in once the reading is done); decoded chunks come back to be filled again, so
/// the reading allocates little. Call it with the GIL released.
pub fn fetch_and_decode(store: &dyn RowStore) -> RowResult<Fetched> {
    let (tx, rx) = crossbeam_channel::unbounded::<(usize, RowChunk)>();
    // A few chunks in flight are enough to keep both threads busy.
    let (emptied_tx, emptied) = crossbeam_channel::bounded::<RowChunk>(4);
    std::thread::scope(|scope| {
        let mut helper = None;
        let mut mine = Decoding::default();
        let mut decoded = Vec::new();
        let mut count = 0;
        let read = store.all_chunks(&mut |mut rows| {
            let n = count;
            count += 1;
            // The first chunk is decoded here: a store of one chunk needs no thread.
            if n == 0 {
                decoded.push((0, mine.chunk(&rows)));
                rows.clear();
                return rows;
            }
            helper.get_or_insert_with(|| {
                let (rx, emptied_tx) = (rx.clone(), emptied_tx.clone());
                scope.spawn(move || {
                    let mut decoding = Decoding::default();
                    let chunks = decoding.all(&rx, &emptied_tx);
                    (chunks, decoding.zones)
                })
            });
            // The receivers live until the end of this scope: sending cannot fail.
            let _ = tx.send((n, rows));
            emptied.try_recv().unwrap_or_default()
        });
        drop(tx);
        decoded.extend(mine.all(&rx, &emptied_tx));
        let mut zones = vec![mine.zones];
        if let Some(helper) = helper {
            // A panic there is a bug; its rows must not vanish silently.
            let (theirs, their_zones) =
                helper.join().map_err(|_| RowError::Backend("the decoding thread failed".into()))?;
            decoded.extend(theirs);
            zones.push(their_zones);
        }
        read?;
        decoded.sort_unstable_by_key(|(n, _)| *n);
        Ok(Fetched { chunks: decoded.into_iter().map(|(_, c)| c).collect(), zones })
    })
}

/// `_core._native_restorable(state)`: whether a stored job state takes the native path (for
/// tests: the shapes it covers must not silently fall back to Python's pickle).
#[pyfunction]
#[pyo3(name = "_native_restorable")]
pub fn native_restorable(py: Python<'_>, state: &[u8]) -> bool {
    decode_job(py, &mut RestoreCache::default(), Cow::Borrowed(state)).is_ok()
}

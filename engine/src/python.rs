//! The Python module `blockstm._engine`: `execute` and the result classes.
//! Errors become the exception classes of `blockstm.errors`; a Rust panic becomes
//! `EngineError`, never an aborted interpreter.

use crate::changes::AccountChange;
use crate::errors::{EngineError, InvalidTxKind};
use crate::fork::FORK_NAMES;
use crate::json::Json;
use crate::receipts::TxReceipt;
use crate::result::BlockOutput;
use crate::state::WorldState;
use crate::bal::{BlockAccessList, Trust};
use crate::{execute_block, Given, Mode};
use alloy_primitives::{Log as EvmLog, B256, U256};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};
use std::panic::{catch_unwind, AssertUnwindSafe};

fn u256_to_py<'py>(py: Python<'py>, v: &U256) -> PyResult<Bound<'py, PyAny>> {
    // Most values fit a machine word: one C call (u128 takes several under abi3).
    if let Ok(word) = u64::try_from(*v) {
        return Ok(word.into_pyobject(py)?.into_any());
    }
    if let Ok(small) = u128::try_from(*v) {
        return Ok(small.into_pyobject(py)?.into_any());
    }
    let bytes = PyBytes::new(py, &v.to_be_bytes::<32>());
    py.get_type::<pyo3::types::PyInt>().call_method1("from_bytes", (bytes, "big"))
}

fn hex<T: AsRef<[u8]>>(bytes: T) -> String {
    format!("0x{}", alloy_primitives::hex::encode(bytes))
}

fn raise(py: Python<'_>, err: EngineError) -> PyErr {
    let errors = match py.import("blockstm.errors") {
        Ok(m) => m,
        Err(e) => return e,
    };
    let built = match &err {
        EngineError::Fixture(f) => errors
            .getattr("FixtureError")
            .and_then(|cls| cls.call1((f.to_string(), f.path.clone()))),
        EngineError::InvalidTx(i) => errors
            .getattr("InvalidTransaction")
            .and_then(|cls| cls.call1((i.to_string(), i.index, i.kind.name()))),
        EngineError::InvalidBlock(m) => errors.getattr("InvalidBlock").and_then(|cls| cls.call1((m.clone(),))),
        EngineError::AccessList(m) => errors.getattr("AccessListMismatch").and_then(|cls| {
            cls.call1((err.to_string(), m.index, m.account.map(hex), m.field.clone(), m.listed.clone(), m.executed.clone()))
        }),
        EngineError::Internal(m) => errors.getattr("EngineError").and_then(|cls| cls.call1((m.clone(),))),
    };
    match built {
        Ok(exc) => PyErr::from_value(exc),
        Err(e) => e,
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_string()
    }
}

/// Runs `f` with panics caught: the interpreter survives and the caller gets an error.
pub fn guarded<T>(f: impl FnOnce() -> Result<T, EngineError>) -> Result<T, EngineError> {
    catch_unwind(AssertUnwindSafe(f))
        .unwrap_or_else(|p| Err(EngineError::Internal(format!("engine panic: {}", panic_message(p)))))
}

#[pyfunction]
#[pyo3(signature = (payload, mode="sequential", threads=None, parallel_threshold=None, pre_state=None, access_list=None, hint=None))]
#[allow(clippy::too_many_arguments)]
fn execute(
    py: Python<'_>,
    payload: &Bound<'_, PyAny>,
    mode: &str,
    threads: Option<usize>,
    parallel_threshold: Option<usize>,
    pre_state: Option<&Bound<'_, BlockResult>>,
    access_list: Option<&Bound<'_, PyAny>>,
    hint: Option<&Bound<'_, PyAny>>,
) -> PyResult<BlockResult> {
    let given = match (access_list, hint) {
        (Some(_), Some(_)) => {
            return Err(pyo3::exceptions::PyValueError::new_err("give access_list or hint, not both"))
        }
        (Some(list), None) => Some(Given::List { list: list_arg(py, list, "access_list")?, trust: Trust::Validate }),
        (None, Some(hint)) => Some(match dependencies_arg(hint)? {
            Some(dependencies) => Given::Dependencies(dependencies),
            None => Given::List { list: list_arg(py, hint, "hint")?, trust: Trust::Hint },
        }),
        (None, None) => None,
    };
    let given = given.as_ref();
    // A chain: the block runs on a previous result's post-state, read in place.
    let parent = pre_state.map(|r| &r.get().out.state);
    let mode = match mode {
        "sequential" => Mode::Sequential,
        "parallel" => Mode::Parallel { threads, threshold: parallel_threshold },
        other => return Err(pyo3::exceptions::PyValueError::new_err(format!("unknown mode {other:?}"))),
    };
    let outcome = if let Ok(dict) = payload.cast::<PyDict>() {
        // A dict is read here, under the GIL, straight into a JSON value: no text in
        // between (json.dumps of a gigagas block costs more than executing it).
        let started = std::time::Instant::now();
        let value = py_to_json(dict.as_any(), &mut String::new(), 0).map_err(|e| raise(py, EngineError::Fixture(e)))?;
        py.detach(move || guarded(|| crate::execute_json(&value, mode, started, parent, given)))
    } else {
        let bytes: Vec<u8> = if let Ok(s) = payload.cast::<PyString>() {
            s.to_str()?.as_bytes().to_vec()
        } else if let Ok(b) = payload.cast::<PyBytes>() {
            b.as_bytes().to_vec()
        } else {
            return Err(PyTypeError::new_err("payload must be a dict, str or bytes"));
        };
        py.detach(move || guarded(|| execute_block(&bytes, mode, parent, given)))
    };
    match outcome {
        Ok(out) => Ok(BlockResult::new(out)),
        Err(e) => Err(raise(py, e)),
    }
}

/// A `hint` that is a list of lists (a previous result's `dependencies`), as such;
/// None for anything else (a block access list).
fn dependencies_arg(hint: &Bound<'_, PyAny>) -> PyResult<Option<Vec<Vec<usize>>>> {
    let Ok(items) = hint.cast::<PyList>() else { return Ok(None) };
    if !items.iter().all(|item| item.cast::<PyList>().is_ok() || item.cast::<pyo3::types::PyTuple>().is_ok()) {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let deps: Vec<usize> = item.extract().map_err(|_| {
            pyo3::exceptions::PyValueError::new_err(format!(
                "hint[{i}] must be a list of transaction indices (non-negative ints), got {}",
                item.repr().map(|r| r.to_string()).unwrap_or_default()
            ))
        })?;
        out.push(deps);
    }
    Ok(Some(out))
}

/// A block access list argument: RLP bytes, JSON text, or the JSON form as Python
/// objects (what `BlockResult.block_access_list` returns). Malformed: `FixtureError`.
fn list_arg(py: Python<'_>, value: &Bound<'_, PyAny>, name: &str) -> PyResult<BlockAccessList> {
    let parsed = if let Ok(b) = value.cast::<PyBytes>() {
        crate::bal::input::from_rlp(b.as_bytes(), name)
    } else if let Ok(s) = value.cast::<PyString>() {
        let text = s.to_str()?;
        Json::parse(text.as_bytes())
            .map_err(|e| crate::errors::FixtureError::new(name, format!("invalid JSON: {e}")))
            .and_then(|tree| crate::bal::input::from_json(&tree, name))
    } else if value.cast::<PyList>().is_ok() || value.cast::<pyo3::types::PyTuple>().is_ok() {
        let mut path = name.to_string();
        py_to_json(value, &mut path, 0).and_then(|tree| crate::bal::input::from_json(&tree, name))
    } else {
        return Err(PyTypeError::new_err(format!(
            "{name} must be a list (the JSON form), str (JSON text) or bytes (RLP), got {}",
            type_name(value)
        )));
    };
    parsed.map_err(|e| raise(py, EngineError::Fixture(e)))
}

/// A Python object as a JSON tree, as `json.dumps` would write it: dicts (keys str, or
/// int, float, bool or None written as text), lists and tuples, str, int, float, bool,
/// None. Anything else is a `FixtureError` naming its JSON path (`path` is the current
/// one), and so is nesting deeper than serde_json's own limit (no fixture nests past 5).
fn py_to_json(obj: &Bound<'_, PyAny>, path: &mut String, depth: usize) -> Result<Json<'static>, crate::errors::FixtureError> {
    const MAX_DEPTH: usize = 128;
    use pyo3::types::{PyBool, PyFloat, PyInt, PyTuple};
    use std::borrow::Cow;
    let not_json = |path: &str, what: String| crate::errors::FixtureError::new(path, format!("not JSON: {what}"));
    if obj.is_none() {
        return Ok(Json::Null);
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return s.to_str().map(|s| Json::String(Cow::Owned(s.to_owned()))).map_err(|e| not_json(path, e.to_string()));
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Json::Bool(b.is_true()));
    }
    if obj.cast::<PyInt>().is_ok() {
        let text = obj.str().map_err(|e| not_json(path, e.to_string()))?;
        let number = text.to_str().map_err(|e| not_json(path, e.to_string()))?;
        return Ok(Json::Number(Cow::Owned(number.to_owned())));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return serde_json::Number::from_f64(f.value())
            .map(|n| Json::Number(Cow::Owned(n.to_string())))
            .ok_or_else(|| not_json(path, format!("{} is not a JSON number", f.value())));
    }
    if depth >= MAX_DEPTH {
        return Err(not_json(path, format!("nested more than {MAX_DEPTH} deep")));
    }
    if let Ok(dict) = obj.cast::<PyDict>() {
        let mut pairs = Vec::with_capacity(dict.len());
        for (key, item) in dict.iter() {
            let key = match py_to_json(&key, path, depth + 1)? {
                Json::String(s) | Json::Number(s) => s,
                Json::Bool(b) => Cow::Owned(b.to_string()),
                Json::Null => Cow::Borrowed("null"),
                _ => return Err(not_json(path, format!("a key of type {}", type_name(&key)))),
            };
            let len = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&key);
            let value = py_to_json(&item, path, depth + 1)?;
            path.truncate(len);
            pairs.push((key, value));
        }
        return Ok(crate::json::object(pairs));
    }
    let items: Vec<Bound<'_, PyAny>> = if let Ok(list) = obj.cast::<PyList>() {
        list.iter().collect()
    } else if let Ok(tuple) = obj.cast::<PyTuple>() {
        tuple.iter().collect()
    } else {
        return Err(not_json(path, format!("a {}", type_name(obj))));
    };
    let mut array = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let len = path.len();
        path.push_str(&format!("[{i}]"));
        array.push(py_to_json(item, path, depth + 1)?);
        path.truncate(len);
    }
    Ok(Json::Array(array))
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into())
}

/// Panics inside the extension on purpose: tests prove a panic reaches Python as an
/// exception and the interpreter lives on.
#[pyfunction]
fn _panic_for_tests() -> PyResult<()> {
    let r: Result<(), EngineError> = guarded(|| panic!("deliberate panic for tests"));
    Python::attach(|py| r.map_err(|e| raise(py, e)))
}

/// The seeded faults `BLOCKSTM_FAULT` can switch on: present only in a build with the
/// `faults` feature, so a harness can tell it is running the faulted engine.
#[cfg(feature = "faults")]
#[pyfunction]
fn faults() -> Vec<&'static str> {
    crate::faults::NAMES.to_vec()
}

#[pyfunction]
fn _invalid_tx_kinds() -> Vec<&'static str> {
    InvalidTxKind::ALL.iter().map(|k| k.name()).collect()
}

/// One log entry of a receipt.
#[pyclass(frozen, module = "blockstm", eq)]
#[derive(Clone, PartialEq, Eq)]
pub struct Log {
    inner: EvmLog,
}

#[pymethods]
impl Log {
    /// The emitting contract, as a lowercase "0x" string.
    #[getter]
    fn address(&self) -> String {
        hex(self.inner.address)
    }
    #[getter]
    fn topics(&self) -> Vec<String> {
        self.inner.topics().iter().map(hex).collect()
    }
    #[getter]
    fn data<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.data.data)
    }
    fn __repr__(&self) -> String {
        format!(
            "Log(address={}, topics={:?}, data={})",
            hex(self.inner.address),
            self.topics(),
            hex(&self.inner.data.data)
        )
    }
}

/// The receipt of one transaction.
#[pyclass(frozen, module = "blockstm", eq)]
#[derive(Clone, PartialEq, Eq)]
pub struct Receipt {
    inner: TxReceipt,
}

#[pymethods]
impl Receipt {
    /// 1 for success, 0 for a revert or a halt.
    #[getter]
    fn status(&self) -> u8 {
        self.inner.success as u8
    }
    #[getter]
    fn gas_used(&self) -> u64 {
        self.inner.gas_used
    }
    #[getter]
    fn cumulative_gas_used(&self) -> u64 {
        self.inner.cumulative_gas_used
    }
    #[getter]
    fn logs(&self) -> Vec<Log> {
        self.inner.logs.iter().map(|l| Log { inner: l.clone() }).collect()
    }
    /// The created contract's address for a successful creation, else None.
    #[getter]
    fn contract_address(&self) -> Option<String> {
        self.inner.contract_address.map(hex)
    }
    #[getter]
    fn tx_type(&self) -> u8 {
        self.inner.tx_type
    }
    #[getter]
    fn logs_bloom(&self) -> String {
        hex(self.inner.bloom())
    }
    /// Pre-Byzantium only: the state root after the transaction.
    #[getter]
    fn post_state_root(&self) -> Option<String> {
        self.inner.post_state_root.map(hex)
    }
    fn __repr__(&self) -> String {
        format!(
            "Receipt(status={}, gas_used={}, cumulative_gas_used={}, logs={}, contract_address={:?})",
            self.status(),
            self.inner.gas_used,
            self.inner.cumulative_gas_used,
            self.inner.logs.len(),
            self.contract_address()
        )
    }
}

/// "0x" and lowercase hex, written on the stack (no heap string per address).
fn hex_str<'py>(py: Python<'py>, bytes: &[u8]) -> Bound<'py, PyString> {
    let mut buf = [0u8; 2 + 2 * 32];
    if bytes.len() > 32 {
        return PyString::new(py, &hex(bytes));
    }
    let out = &mut buf[..2 + 2 * bytes.len()];
    out[..2].copy_from_slice(b"0x");
    alloy_primitives::hex::encode_to_slice(bytes, &mut out[2..]).expect("twice the length");
    PyString::new(py, std::str::from_utf8(out).expect("hex is ASCII"))
}

/// Builds the result's Python objects: the dict keys interned once, each code's bytes
/// and each code hash's string made once per call (Python shares immutable objects).
struct Converter<'py> {
    py: Python<'py>,
    keys: [Bound<'py, PyString>; 9],
    codes: alloy_primitives::map::HashMap<B256, Bound<'py, PyAny>>,
    hashes: alloy_primitives::map::HashMap<B256, Bound<'py, PyString>>,
}

const BALANCE: usize = 0;
const NONCE: usize = 1;
const CODE: usize = 2;
const STORAGE: usize = 3;
const CODE_HASH: usize = 4;
const STORAGE_CLEARED: usize = 5;
const DESTROYED: usize = 6;

/// The cyclic garbage collector paused while a result is built: it would otherwise
/// walk every young container again and again as hundreds of thousands of dicts are
/// made (half the time of a big post-state), though none of them can form a cycle.
struct GcPaused {
    was_enabled: bool,
}

impl GcPaused {
    fn new(_py: Python<'_>) -> GcPaused {
        // SAFETY: called with the GIL held (the `Python` token).
        GcPaused { was_enabled: unsafe { pyo3::ffi::PyGC_Disable() } == 1 }
    }
}

impl Drop for GcPaused {
    fn drop(&mut self) {
        if self.was_enabled {
            // SAFETY: the GIL is still held: the guard lives inside a `Converter` call.
            unsafe { pyo3::ffi::PyGC_Enable() };
        }
    }
}

impl<'py> Converter<'py> {
    fn new(py: Python<'py>) -> Self {
        let names = ["balance", "nonce", "code", "storage", "code_hash", "storage_cleared", "destroyed", "", ""];
        Converter {
            py,
            keys: names.map(|n| PyString::intern(py, n)),
            codes: Default::default(),
            hashes: Default::default(),
        }
    }

    fn key(&self, which: usize) -> &Bound<'py, PyString> {
        &self.keys[which]
    }

    fn code_hash(&mut self, hash: &B256) -> Bound<'py, PyString> {
        let py = self.py;
        self.hashes.entry(*hash).or_insert_with(|| hex_str(py, hash.as_slice())).clone()
    }

    /// A quantity as a Python int, or with `fixture` as a fixture's hex string.
    fn quantity(&self, v: &U256, fixture: bool) -> PyResult<Bound<'py, PyAny>> {
        if fixture {
            Ok(PyString::new(self.py, &format!("{v:#x}")).into_any())
        } else {
            u256_to_py(self.py, v)
        }
    }

    /// The state as {address: {"balance", "nonce", "code", "storage"}}, sorted: Python
    /// ints and bytes, or with `fixture` the hex strings of a fixture's `pre`.
    fn state(&mut self, state: &WorldState, fixture: bool) -> PyResult<Bound<'py, PyDict>> {
        let py = self.py;
        let _paused = GcPaused::new(py);
        let mut addresses: Vec<_> = state.accounts.iter().collect();
        addresses.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let out = PyDict::new(py);
        for (address, acc) in addresses {
            let entry = PyDict::new(py);
            entry.set_item(self.key(BALANCE), self.quantity(&acc.balance, fixture)?)?;
            entry.set_item(self.key(NONCE), self.quantity(&U256::from(acc.nonce), fixture)?)?;
            let code = match self.codes.get(&acc.code_hash) {
                Some(code) => code.clone(),
                None => {
                    let bytes = state.code(&acc.code_hash).map(|c| c.original_byte_slice()).unwrap_or_default();
                    let code = if fixture { PyString::new(py, &hex(bytes)).into_any() } else { PyBytes::new(py, bytes).into_any() };
                    self.codes.insert(acc.code_hash, code.clone());
                    code
                }
            };
            entry.set_item(self.key(CODE), code)?;
            let storage = PyDict::new(py);
            if !acc.storage.is_empty() {
                let mut slots: Vec<_> = acc.storage.iter().collect();
                slots.sort_unstable();
                for (k, v) in slots {
                    storage.set_item(self.quantity(k, fixture)?, self.quantity(v, fixture)?)?;
                }
            }
            entry.set_item(self.key(STORAGE), storage)?;
            out.set_item(hex_str(py, address.as_slice()), entry)?;
        }
        Ok(out)
    }

    /// Per transaction: {address: {"destroyed": True} or {"balance", "nonce",
    /// "code_hash", "code" (bytes or None when unchanged), "storage_cleared", "storage"}}.
    fn tx_changes(&mut self, all: &[crate::changes::TxChanges]) -> PyResult<Bound<'py, PyList>> {
        let py = self.py;
        let _paused = GcPaused::new(py);
        let list = PyList::empty(py);
        for changes in all {
            let d = PyDict::new(py);
            for (address, change) in &changes.accounts {
                let entry = PyDict::new(py);
                match change {
                    AccountChange::Destroyed => entry.set_item(self.key(DESTROYED), true)?,
                    AccountChange::Updated { balance, nonce, code_hash, code, storage_cleared, storage } => {
                        entry.set_item(self.key(BALANCE), u256_to_py(py, balance)?)?;
                        entry.set_item(self.key(NONCE), *nonce)?;
                        let hash = self.code_hash(code_hash);
                        entry.set_item(self.key(CODE_HASH), hash)?;
                        match code {
                            Some(c) => entry.set_item(self.key(CODE), PyBytes::new(py, c.original_byte_slice()))?,
                            None => entry.set_item(self.key(CODE), py.None())?,
                        }
                        entry.set_item(self.key(STORAGE_CLEARED), *storage_cleared)?;
                        let st = PyDict::new(py);
                        for (k, v) in storage {
                            st.set_item(u256_to_py(py, k)?, u256_to_py(py, v)?)?;
                        }
                        entry.set_item(self.key(STORAGE), st)?;
                    }
                }
                d.set_item(hex_str(py, address.as_slice()), entry)?;
            }
            list.append(d)?;
        }
        Ok(list)
    }
}

/// What `execute` returns. Picklable (a compact binary snapshot, see `snapshot`) and
/// comparable: `==` compares the block's outcome (receipts, post-state, roots), not how
/// it was reached (stats, per-transaction changes, dependencies).
#[pyclass(frozen, module = "blockstm")]
pub struct BlockResult {
    out: BlockOutput,
    /// The block access list, built on first access (three getters read it).
    access_list: std::sync::OnceLock<BlockAccessList>,
}

impl BlockResult {
    fn new(out: BlockOutput) -> Self {
        BlockResult { out, access_list: std::sync::OnceLock::new() }
    }

    fn access_list(&self) -> &BlockAccessList {
        self.access_list.get_or_init(|| crate::bal::build::block_access_list(&self.out))
    }
}

#[pymethods]
impl BlockResult {
    /// Rebuilds a result from `__reduce__`'s snapshot (what unpickling calls).
    #[new]
    fn from_snapshot(snapshot: &[u8]) -> PyResult<BlockResult> {
        snapshot::decode(snapshot)
            .map(BlockResult::new)
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(format!("not a BlockResult snapshot: {e}")))
    }
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyBytes>,))> {
        let py = slf.py();
        let bytes = PyBytes::new(py, &snapshot::encode(&slf.get().out));
        Ok((slf.get_type().into_any(), (bytes,)))
    }
    fn __eq__(&self, other: PyRef<'_, Self>) -> bool {
        let (a, b) = (&self.out, &other.out);
        a.fork == b.fork
            && a.state_root == b.state_root
            && a.receipts_root == b.receipts_root
            && a.logs_bloom == b.logs_bloom
            && a.logs_hash == b.logs_hash
            && a.receipts == b.receipts
            && a.state.accounts == b.state.accounts // code by code hash
            && a.requests == b.requests
    }
    /// The post-state in the shape of a fixture's `pre` (hex strings, ethereum/tests
    /// alloc), so that a result can be the pre-state of the next block.
    fn post_state_fixture<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        Converter::new(py).state(&self.out.state, true)
    }
    #[getter]
    fn receipts(&self) -> Vec<Receipt> {
        self.out.receipts.iter().map(|r| Receipt { inner: r.clone() }).collect()
    }
    /// {address: {"balance": int, "nonce": int, "code": bytes, "storage": {int: int}}}
    #[getter]
    fn post_state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        Converter::new(py).state(&self.out.state, false)
    }
    #[getter]
    fn state_root(&self) -> String {
        hex(self.out.state_root)
    }
    #[getter]
    fn logs_bloom(&self) -> String {
        hex(self.out.logs_bloom)
    }
    #[getter]
    fn receipts_root(&self) -> String {
        hex(self.out.receipts_root)
    }
    /// keccak256 of the RLP list of the block's logs (ethereum/tests' `logs`).
    #[getter]
    fn logs_hash(&self) -> String {
        hex(self.out.logs_hash)
    }
    #[getter]
    fn gas_used(&self) -> u64 {
        self.out.receipts.last().map(|r| r.cumulative_gas_used).unwrap_or(0)
    }
    /// Per transaction: {address: {"destroyed": True} or {"balance", "nonce",
    /// "code_hash", "code" (bytes or None when unchanged), "storage_cleared", "storage"}}.
    #[getter]
    fn tx_changes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        Converter::new(py).tx_changes(&self.out.tx_changes)
    }
    /// The block-level effects applied, in protocol order: [{"effect": "dao_fork" |
    /// "beacon_root" | "rewards" | "withdrawals", "changes": {address: …}}], the changes
    /// in `tx_changes`' shape. Empty for a block without them (a state test's).
    #[getter]
    fn block_effects<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let changes: Vec<_> = self.out.effects.iter().map(|e| e.changes.clone()).collect();
        let dicts = Converter::new(py).tx_changes(&changes)?;
        let list = PyList::empty(py);
        for (effect, changes) in self.out.effects.iter().zip(dicts.iter()) {
            let d = PyDict::new(py);
            d.set_item("effect", effect.effect.name())?;
            d.set_item("changes", changes)?;
            list.append(d)?;
        }
        Ok(list)
    }
    /// EIP-7685 requests (Prague on, when the fixture has `"requests": true`): each
    /// non-empty list as hex, its type byte first (deposits 0x00, withdrawal requests
    /// 0x01, consolidations 0x02); None when not asked for.
    #[getter]
    fn requests(&self) -> Option<Vec<String>> {
        self.out.requests.as_ref().map(|r| r.iter().map(hex).collect())
    }
    /// The header's `requestsHash` (EIP-7685), or None.
    #[getter]
    fn requests_hash(&self) -> Option<String> {
        self.out.requests_hash().map(hex)
    }
    /// The block's EIP-7928 access list in its JSON form (alloy's, as
    /// `eth_getBlockAccessList` serves it): [{"address", "storageChanges": [{"key",
    /// "changes": [{"index", "value"}]}], "storageReads", "balanceChanges",
    /// "nonceChanges", "codeChanges"}], accounts sorted. Identical in every mode.
    #[getter]
    fn block_access_list<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let text = crate::bal::input::to_json(self.access_list());
        py.import("json")?.call_method1("loads", (text,))
    }
    /// The access list's RLP encoding.
    #[getter]
    fn block_access_list_rlp<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &crate::bal::build::encode(self.access_list()))
    }
    /// keccak256 of the encoding: the header's `blockAccessListHash` (EIP-7928).
    #[getter]
    fn block_access_list_hash(&self) -> String {
        hex(crate::bal::build::hash(self.access_list()))
    }
    /// For each transaction, the lower transactions whose writes it read (parallel mode).
    #[getter]
    fn dependencies(&self) -> Vec<Vec<usize>> {
        self.out.dependencies.clone()
    }
    #[getter]
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = &self.out.stats;
        let d = PyDict::new(py);
        d.set_item("mode", s.mode)?;
        d.set_item("threads", s.threads)?;
        d.set_item("executions", s.executions)?;
        d.set_item("reexecutions", s.reexecutions)?;
        d.set_item("validations", s.validations)?;
        d.set_item("validation_failures", s.validation_failures)?;
        d.set_item("dependency_waits", s.dependency_waits)?;
        d.set_item("lazy_transfers", s.lazy_transfers)?;
        d.set_item("fallback", s.fallback.clone())?;
        d.set_item("access_list", s.access_list)?;
        d.set_item("elapsed_ns", s.elapsed_ns)?;
        d.set_item("parse_ns", s.phases.parse_ns)?;
        d.set_item("setup_ns", s.phases.setup_ns)?;
        d.set_item("execute_ns", s.phases.execute_ns)?;
        d.set_item("commit_ns", s.phases.commit_ns)?;
        d.set_item("root_ns", s.phases.root_ns)?;
        d.set_item("transactions", self.out.receipts.len())?;
        d.set_item("gas_used", self.gas_used())?;
        Ok(d)
    }
    fn __repr__(&self) -> String {
        format!(
            "BlockResult(transactions={}, gas_used={}, state_root={}, mode={})",
            self.out.receipts.len(),
            self.gas_used(),
            hex(self.out.state_root),
            self.out.stats.mode
        )
    }
}

/// A `BlockOutput` as bytes and back, for pickling: little-endian integers, 32-byte
/// big-endian words, length-prefixed sequences, maps sorted (equal results, equal
/// bytes). A field added to `Stats` must be added here too (tests/test_result.py
/// checks that `stats` survives a round trip).
mod snapshot {
    use super::*;
    use crate::changes::{Fields, TxAccess, TxChanges};
    use crate::fork::Fork;
    use crate::result::{Phases, Stats};
    use crate::state::{bytecode_of, Account, Contracts};
    use alloy_primitives::{Address, Bytes, LogData, B256};

    use crate::block_effects::{BlockEffect, Effect};

    const VERSION: u8 = 5;

    struct W(Vec<u8>);

    impl W {
        fn u8(&mut self, v: u8) {
            self.0.push(v);
        }
        fn u64(&mut self, v: u64) {
            self.0.extend_from_slice(&v.to_le_bytes());
        }
        fn len(&mut self, n: usize) {
            self.u64(n as u64);
        }
        fn raw(&mut self, b: &[u8]) {
            self.0.extend_from_slice(b);
        }
        fn bytes(&mut self, b: &[u8]) {
            self.len(b.len());
            self.raw(b);
        }
        fn u256(&mut self, v: &U256) {
            self.raw(&v.to_be_bytes::<32>());
        }
        fn str(&mut self, s: &str) {
            self.bytes(s.as_bytes());
        }
    }

    struct R<'a> {
        buf: &'a [u8],
        pos: usize,
    }

    type Res<T> = Result<T, String>;

    impl<'a> R<'a> {
        fn take(&mut self, n: usize) -> Res<&'a [u8]> {
            let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len()).ok_or("truncated")?;
            let s = &self.buf[self.pos..end];
            self.pos = end;
            Ok(s)
        }
        fn u8(&mut self) -> Res<u8> {
            Ok(self.take(1)?[0])
        }
        fn flag(&mut self) -> Res<bool> {
            match self.u8()? {
                0 => Ok(false),
                1 => Ok(true),
                b => Err(format!("bad flag {b} at byte {}", self.pos - 1)),
            }
        }
        fn u64(&mut self) -> Res<u64> {
            Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
        }
        fn len(&mut self) -> Res<usize> {
            let n = self.u64()? as usize;
            // Every element takes at least one byte: a length beyond the rest is corrupt.
            if n > self.buf.len() - self.pos {
                return Err(format!("length {n} beyond the end at byte {}", self.pos - 8));
            }
            Ok(n)
        }
        fn bytes(&mut self) -> Res<&'a [u8]> {
            let n = self.len()?;
            self.take(n)
        }
        fn b256(&mut self) -> Res<B256> {
            Ok(B256::from_slice(self.take(32)?))
        }
        fn address(&mut self) -> Res<Address> {
            Ok(Address::from_slice(self.take(20)?))
        }
        fn u256(&mut self) -> Res<U256> {
            Ok(U256::from_be_slice(self.take(32)?))
        }
        fn string(&mut self) -> Res<String> {
            String::from_utf8(self.bytes()?.to_vec()).map_err(|e| e.to_string())
        }
    }

    fn write_access(w: &mut W, access: &TxAccess) {
        w.len(access.accounts.len());
        for (address, fields) in &access.accounts {
            w.raw(address.as_slice());
            w.u8(fields.bits());
        }
        w.len(access.storage_reads.len());
        for (address, slot) in &access.storage_reads {
            w.raw(address.as_slice());
            w.u256(slot);
        }
        w.len(access.resets.len());
        for (address, exists) in &access.resets {
            w.raw(address.as_slice());
            w.u8(*exists as u8);
        }
    }

    fn read_access(r: &mut R<'_>) -> Res<TxAccess> {
        let accounts = (0..r.len()?).map(|_| Ok((r.address()?, Fields::from_bits(r.u8()?)))).collect::<Res<Vec<_>>>()?;
        let storage_reads = (0..r.len()?).map(|_| Ok((r.address()?, r.u256()?))).collect::<Res<Vec<_>>>()?;
        let resets = (0..r.len()?).map(|_| Ok((r.address()?, r.flag()?))).collect::<Res<Vec<_>>>()?;
        Ok(TxAccess { accounts, storage_reads, resets })
    }

    fn write_changes(w: &mut W, changes: &TxChanges) {
        w.len(changes.accounts.len());
        for (address, change) in &changes.accounts {
            w.raw(address.as_slice());
            match change {
                AccountChange::Destroyed => w.u8(0),
                AccountChange::Updated { balance, nonce, code_hash, code, storage_cleared, storage } => {
                    w.u8(1);
                    w.u256(balance);
                    w.u64(*nonce);
                    w.raw(code_hash.as_slice());
                    match code {
                        Some(c) => {
                            w.u8(1);
                            w.bytes(c.original_byte_slice());
                        }
                        None => w.u8(0),
                    }
                    w.u8(*storage_cleared as u8);
                    w.len(storage.len());
                    for (k, v) in storage {
                        w.u256(k);
                        w.u256(v);
                    }
                }
            }
        }
    }

    pub fn encode(out: &BlockOutput) -> Vec<u8> {
        let mut w = W(Vec::new());
        w.u8(VERSION);
        w.u8(out.fork as u8);
        w.len(out.receipts.len());
        for r in &out.receipts {
            w.u8(r.tx_type);
            w.u8(r.success as u8);
            w.u64(r.gas_used);
            w.u64(r.cumulative_gas_used);
            w.len(r.logs.len());
            for log in &r.logs {
                w.raw(log.address.as_slice());
                w.len(log.topics().len());
                for t in log.topics() {
                    w.raw(t.as_slice());
                }
                w.bytes(&log.data.data);
            }
            match r.contract_address {
                Some(a) => {
                    w.u8(1);
                    w.raw(a.as_slice());
                }
                None => w.u8(0),
            }
            match r.post_state_root {
                Some(root) => {
                    w.u8(1);
                    w.raw(root.as_slice());
                }
                None => w.u8(0),
            }
        }
        w.len(out.tx_changes.len());
        for (changes, access) in out.tx_changes.iter().zip(&out.access) {
            write_changes(&mut w, changes);
            write_access(&mut w, access);
        }
        w.len(out.effects.len());
        for effect in &out.effects {
            w.u8(effect.effect as u8);
            write_changes(&mut w, &effect.changes);
            write_access(&mut w, &effect.access);
        }
        match &out.requests {
            Some(requests) => {
                w.u8(1);
                w.len(requests.len());
                for r in requests {
                    w.bytes(r);
                }
            }
            None => w.u8(0),
        }
        let state = &out.state;
        let mut addresses: Vec<_> = state.accounts.keys().collect();
        addresses.sort_unstable();
        w.len(addresses.len());
        for address in addresses {
            let acc = &state.accounts[address];
            w.raw(address.as_slice());
            w.u256(&acc.balance);
            w.u64(acc.nonce);
            w.raw(acc.code_hash.as_slice());
            let mut slots: Vec<_> = acc.storage.iter().collect();
            slots.sort_unstable();
            w.len(slots.len());
            for (k, v) in slots {
                w.u256(k);
                w.u256(v);
            }
        }
        let mut hashes: Vec<_> = state.contracts.keys().collect();
        hashes.sort_unstable();
        w.len(hashes.len());
        for hash in hashes {
            w.raw(hash.as_slice());
            w.bytes(state.contracts[hash].original_byte_slice());
        }
        for root in [out.state_root, out.receipts_root, out.logs_hash] {
            w.raw(root.as_slice());
        }
        w.raw(out.logs_bloom.as_slice());
        let s = &out.stats;
        w.str(s.mode);
        w.len(s.threads);
        let p = &s.phases;
        for n in [s.executions, s.reexecutions, s.validations, s.validation_failures, s.dependency_waits,
                  s.lazy_transfers, s.elapsed_ns, p.parse_ns, p.setup_ns, p.execute_ns, p.commit_ns, p.root_ns] {
            w.u64(n);
        }
        match &s.fallback {
            Some(f) => {
                w.u8(1);
                w.str(f);
            }
            None => w.u8(0),
        }
        w.str(s.access_list.unwrap_or(""));
        w.len(out.dependencies.len());
        for deps in &out.dependencies {
            w.len(deps.len());
            for &d in deps {
                w.len(d);
            }
        }
        w.0
    }

    fn read_changes(r: &mut R<'_>) -> Res<TxChanges> {
        let mut accounts = Vec::new();
        for _ in 0..r.len()? {
            let address = r.address()?;
            let change = if r.flag()? {
                let balance = r.u256()?;
                let nonce = r.u64()?;
                let code_hash = r.b256()?;
                let code = if r.flag()? { Some(bytecode_of(&Bytes::copy_from_slice(r.bytes()?))) } else { None };
                let storage_cleared = r.flag()?;
                let storage = (0..r.len()?).map(|_| Ok((r.u256()?, r.u256()?))).collect::<Res<Vec<_>>>()?;
                AccountChange::Updated { balance, nonce, code_hash, code, storage_cleared, storage }
            } else {
                AccountChange::Destroyed
            };
            accounts.push((address, change));
        }
        Ok(TxChanges { accounts })
    }

    pub fn decode(buf: &[u8]) -> Res<BlockOutput> {
        let mut r = R { buf, pos: 0 };
        let version = r.u8()?;
        if version != VERSION {
            return Err(format!("version {version}, this build reads {VERSION}"));
        }
        let fork_index = r.u8()? as usize;
        let fork = FORK_NAMES.get(fork_index).and_then(|n| Fork::from_name(n)).ok_or("bad fork")?;
        let mut receipts = Vec::new();
        for _ in 0..r.len()? {
            let tx_type = r.u8()?;
            let success = r.flag()?;
            let gas_used = r.u64()?;
            let cumulative_gas_used = r.u64()?;
            let mut logs = Vec::new();
            for _ in 0..r.len()? {
                let address = r.address()?;
                let topics = (0..r.len()?).map(|_| r.b256()).collect::<Res<Vec<_>>>()?;
                let data = Bytes::copy_from_slice(r.bytes()?);
                logs.push(EvmLog { address, data: LogData::new(topics, data).ok_or("more than 4 topics")? });
            }
            let contract_address = if r.flag()? { Some(r.address()?) } else { None };
            let post_state_root = if r.flag()? { Some(r.b256()?) } else { None };
            let mut receipt = TxReceipt::new(tx_type, success, gas_used, cumulative_gas_used, logs, contract_address);
            receipt.post_state_root = post_state_root;
            receipts.push(receipt);
        }
        let (mut tx_changes, mut access) = (Vec::new(), Vec::new());
        for _ in 0..r.len()? {
            tx_changes.push(read_changes(&mut r)?);
            access.push(read_access(&mut r)?);
        }
        let mut effects = Vec::new();
        for _ in 0..r.len()? {
            let effect = *Effect::ALL.get(r.u8()? as usize).ok_or("bad block effect")?;
            let changes = read_changes(&mut r)?;
            effects.push(BlockEffect { effect, changes, access: read_access(&mut r)? });
        }
        let requests = if r.flag()? {
            Some((0..r.len()?).map(|_| Ok(Bytes::copy_from_slice(r.bytes()?))).collect::<Res<Vec<_>>>()?)
        } else {
            None
        };
        let mut state = WorldState::default();
        for _ in 0..r.len()? {
            let address = r.address()?;
            let balance = r.u256()?;
            let nonce = r.u64()?;
            let code_hash = r.b256()?;
            let storage = (0..r.len()?).map(|_| Ok((r.u256()?, r.u256()?))).collect::<Res<_>>()?;
            state.accounts.insert(address, Account { balance, nonce, code_hash, storage });
        }
        let mut contracts = Contracts::default();
        for _ in 0..r.len()? {
            let hash = r.b256()?;
            contracts.insert(hash, bytecode_of(&Bytes::copy_from_slice(r.bytes()?)));
        }
        state.contracts = contracts;
        let state_root = r.b256()?;
        let receipts_root = r.b256()?;
        let logs_hash = r.b256()?;
        let logs_bloom = alloy_primitives::Bloom::from_slice(r.take(256)?);
        let mode = match r.string()?.as_str() {
            "sequential" => "sequential",
            "parallel" => "parallel",
            other => return Err(format!("unknown mode {other:?}")),
        };
        let threads = r.u64()? as usize;
        let mut n = [0u64; 12];
        for slot in &mut n {
            *slot = r.u64()?;
        }
        let fallback = if r.flag()? { Some(r.string()?) } else { None };
        let access_list = match r.string()?.as_str() {
            "" => None,
            "validated" => Some("validated"),
            "hint" => Some("hint"),
            other => return Err(format!("unknown access list use {other:?}")),
        };
        let stats = Stats {
            access_list,
            mode,
            threads,
            executions: n[0],
            reexecutions: n[1],
            validations: n[2],
            validation_failures: n[3],
            dependency_waits: n[4],
            lazy_transfers: n[5],
            elapsed_ns: n[6],
            phases: Phases { parse_ns: n[7], setup_ns: n[8], execute_ns: n[9], commit_ns: n[10], root_ns: n[11] },
            fallback,
        };
        let mut dependencies = Vec::new();
        for _ in 0..r.len()? {
            dependencies.push((0..r.len()?).map(|_| Ok(r.u64()? as usize)).collect::<Res<Vec<_>>>()?);
        }
        if r.pos != buf.len() {
            return Err(format!("{} trailing bytes", buf.len() - r.pos));
        }
        Ok(BlockOutput {
            fork,
            receipts,
            tx_changes,
            access,
            state,
            state_root,
            logs_bloom,
            receipts_root,
            logs_hash,
            stats,
            dependencies,
            effects,
            requests,
        })
    }
}

#[pymodule]
fn _engine(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(execute, m)?)?;
    m.add_function(wrap_pyfunction!(_panic_for_tests, m)?)?;
    m.add_function(wrap_pyfunction!(_invalid_tx_kinds, m)?)?;
    #[cfg(feature = "faults")]
    m.add_function(wrap_pyfunction!(faults, m)?)?;
    m.add_class::<BlockResult>()?;
    m.add_class::<Receipt>()?;
    m.add_class::<Log>()?;
    m.add("FORKS", FORK_NAMES.to_vec())?;
    m.add("MAX_THREADS", crate::parallel::pool::MAX_THREADS)?;
    Ok(())
}

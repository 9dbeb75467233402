//! The Python module `blockstm._engine`: `execute` and the result classes.
//! Errors become the exception classes of `blockstm.errors`; a Rust panic becomes
//! `EngineError`, never an aborted interpreter.

use crate::changes::AccountChange;
use crate::errors::{EngineError, InvalidTxKind};
use crate::fork::FORK_NAMES;
use crate::receipts::TxReceipt;
use crate::result::BlockOutput;
use crate::{execute_block, Mode};
use alloy_primitives::{Log as EvmLog, U256};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};
use std::panic::{catch_unwind, AssertUnwindSafe};

fn u256_to_py<'py>(py: Python<'py>, v: &U256) -> PyResult<Bound<'py, PyAny>> {
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
#[pyo3(signature = (payload, mode="sequential", threads=None, parallel_threshold=None))]
fn execute(
    py: Python<'_>,
    payload: &Bound<'_, PyAny>,
    mode: &str,
    threads: Option<usize>,
    parallel_threshold: Option<usize>,
) -> PyResult<BlockResult> {
    let bytes: Vec<u8> = if let Ok(s) = payload.cast::<PyString>() {
        s.to_str()?.as_bytes().to_vec()
    } else if let Ok(b) = payload.cast::<PyBytes>() {
        b.as_bytes().to_vec()
    } else {
        return Err(PyTypeError::new_err("payload must be str or bytes"));
    };
    let mode = match mode {
        "sequential" => Mode::Sequential,
        "parallel" => Mode::Parallel { threads, threshold: parallel_threshold },
        other => return Err(pyo3::exceptions::PyValueError::new_err(format!("unknown mode {other:?}"))),
    };
    let outcome = py.detach(move || guarded(|| execute_block(&bytes, mode)));
    match outcome {
        Ok(out) => Ok(BlockResult { out }),
        Err(e) => Err(raise(py, e)),
    }
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

/// What `execute` returns.
#[pyclass(frozen, module = "blockstm")]
pub struct BlockResult {
    out: BlockOutput,
}

#[pymethods]
impl BlockResult {
    #[getter]
    fn receipts(&self) -> Vec<Receipt> {
        self.out.receipts.iter().map(|r| Receipt { inner: r.clone() }).collect()
    }
    /// {address: {"balance": int, "nonce": int, "code": bytes, "storage": {int: int}}}
    #[getter]
    fn post_state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let state = &self.out.state;
        let mut addresses: Vec<_> = state.accounts.keys().collect();
        addresses.sort_unstable();
        let out = PyDict::new(py);
        for address in addresses {
            let acc = &state.accounts[address];
            let entry = PyDict::new(py);
            entry.set_item("balance", u256_to_py(py, &acc.balance)?)?;
            entry.set_item("nonce", acc.nonce)?;
            let code = state.code(&acc.code_hash).map(|c| c.original_byte_slice().to_vec()).unwrap_or_default();
            entry.set_item("code", PyBytes::new(py, &code))?;
            let storage = PyDict::new(py);
            let mut slots: Vec<_> = acc.storage.iter().collect();
            slots.sort_unstable();
            for (k, v) in slots {
                storage.set_item(u256_to_py(py, k)?, u256_to_py(py, v)?)?;
            }
            entry.set_item("storage", storage)?;
            out.set_item(hex(address), entry)?;
        }
        Ok(out)
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
        let list = PyList::empty(py);
        for changes in &self.out.tx_changes {
            let d = PyDict::new(py);
            for (address, change) in &changes.accounts {
                let entry = PyDict::new(py);
                match change {
                    AccountChange::Destroyed => entry.set_item("destroyed", true)?,
                    AccountChange::Updated { balance, nonce, code_hash, code, storage_cleared, storage } => {
                        entry.set_item("balance", u256_to_py(py, balance)?)?;
                        entry.set_item("nonce", *nonce)?;
                        entry.set_item("code_hash", hex(code_hash))?;
                        match code {
                            Some(c) => entry.set_item("code", PyBytes::new(py, c.original_byte_slice()))?,
                            None => entry.set_item("code", py.None())?,
                        }
                        entry.set_item("storage_cleared", *storage_cleared)?;
                        let st = PyDict::new(py);
                        for (k, v) in storage {
                            st.set_item(u256_to_py(py, k)?, u256_to_py(py, v)?)?;
                        }
                        entry.set_item("storage", st)?;
                    }
                }
                d.set_item(hex(address), entry)?;
            }
            list.append(d)?;
        }
        Ok(list)
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
        d.set_item("elapsed_ns", s.elapsed_ns)?;
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
    Ok(())
}

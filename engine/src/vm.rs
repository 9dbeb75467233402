//! Running one transaction on revm over any database, and turning its outcome into a
//! receipt and state changes. Both executors call this; only the database differs.

use crate::changes::TxChanges;
use crate::errors::{EngineError, InvalidTx, InvalidTxKind};
use crate::fixture::Transaction;
use crate::receipts::TxReceipt;
use revm::context::result::{EVMError, ExecutionResult};
use crate::eip7610::{Eip7610Journal, StorageProbe};
use revm::context::{block::BlockEnv, cfg::CfgEnv, Context, TxEnv};
use revm::database_interface::Database;
use revm::handler::{ExecuteEvm, MainBuilder, MainnetEvm};

/// revm's mainnet context, with the EIP-7610 journal (eip7610.rs).
pub type EvmContext<DB> = Context<BlockEnv, TxEnv, CfgEnv, DB, Eip7610Journal<DB>, ()>;
pub type Evm<DB> = MainnetEvm<EvmContext<DB>>;

/// One revm instance. A Constantinople configuration (recognised by its EIP-1283 gas
/// table, see constantinople.rs) also gets the net-metering SSTORE.
pub fn build_evm<DB: Database + StorageProbe>(db: DB, cfg: CfgEnv, block: BlockEnv) -> Evm<DB> {
    let eip1283 = crate::constantinople::is_eip1283(&cfg);
    let spec = cfg.spec;
    let mut evm = EvmContext::new(db, spec).with_cfg(cfg).with_block(block).build_mainnet();
    if eip1283 {
        let table = evm.instruction.instruction_table_mut();
        table[crate::constantinople::SSTORE_OPCODE as usize] =
            revm::interpreter::Instruction::new(crate::constantinople::sstore);
    }
    evm
}

/// A transaction's outcome before block-level bookkeeping (cumulative gas).
pub struct TxOutcome {
    pub result: ExecutionResult,
    pub changes: TxChanges,
    pub access: crate::changes::TxAccess,
}

pub enum TxError<E> {
    Invalid(InvalidTx),
    /// The database failed (in parallel mode: a read hit an unfinished dependency).
    Db(E),
    Internal(String),
}

pub fn transact<DB: Database + StorageProbe>(evm: &mut Evm<DB>, index: usize, tx: &Transaction) -> Result<TxOutcome, TxError<DB::Error>> {
    match evm.transact(tx.env.clone()) {
        Ok(out) => {
            let (changes, access) = TxChanges::from_evm_state(out.state);
            Ok(TxOutcome { changes, access, result: out.result })
        }
        Err(EVMError::Transaction(e)) => Err(TxError::Invalid(InvalidTx {
            index,
            kind: InvalidTxKind::from_revm(&e),
            message: e.to_string(),
        })),
        Err(EVMError::Database(e)) => Err(TxError::Db(e)),
        Err(other) => Err(TxError::Internal(format!("transaction {index}: {other}"))),
    }
}

pub fn receipt(tx: &Transaction, result: &ExecutionResult, cumulative_gas_used: u64) -> TxReceipt {
    TxReceipt::new(
        tx.tx_type,
        result.is_success(),
        result.tx_gas_used(),
        cumulative_gas_used,
        result.logs().to_vec(),
        result.created_address(),
    )
}

impl<E: std::fmt::Display> From<TxError<E>> for EngineError {
    fn from(e: TxError<E>) -> Self {
        match e {
            TxError::Invalid(i) => EngineError::InvalidTx(i),
            TxError::Db(e) => EngineError::Internal(format!("database error: {e}")),
            TxError::Internal(m) => EngineError::Internal(m),
        }
    }
}

//! The world state of one block: the pre-state plus applied transaction changes.
//! It is the sequential executor's database and the shape of every post-state.

use crate::changes::{AccountChange, TxChanges};
use crate::fixture::PreAccount;
use alloy_primitives::{keccak256, map::HashMap, Address, B256, U256};
use alloy_trie::TrieAccount;
use revm::database_interface::DatabaseRef;
use revm::primitives::KECCAK_EMPTY;
use revm::state::{AccountInfo, Bytecode};
use std::convert::Infallible;
use std::sync::Arc;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub balance: U256,
    pub nonce: u64,
    pub code_hash: B256,
    pub storage: HashMap<U256, U256>,
}

impl Account {
    /// An account that did not exist: no balance, nonce or code.
    pub fn empty() -> Account {
        Account { balance: U256::ZERO, nonce: 0, code_hash: KECCAK_EMPTY, storage: HashMap::default() }
    }

    /// This account's balance and nonce as a change that leaves its code and storage alone
    /// (what a transfer, a reward or a withdrawal writes).
    pub fn fields_change(&self) -> AccountChange {
        AccountChange::Updated {
            balance: self.balance,
            nonce: self.nonce,
            code_hash: self.code_hash,
            code: None,
            storage_cleared: false,
            storage: Vec::new(),
        }
    }
}

/// Block hashes for BLOCKHASH: the fixture's, else keccak256 of the decimal number
/// (the ethereum/tests convention).
#[derive(Clone, Debug, Default)]
pub struct BlockHashes(pub std::collections::HashMap<u64, B256>);

impl BlockHashes {
    pub fn get(&self, number: u64) -> B256 {
        self.0
            .get(&number)
            .copied()
            .unwrap_or_else(|| keccak256(number.to_string().as_bytes()))
    }
}

/// Code by hash, shared read-only by every worker.
pub type Contracts = HashMap<B256, Bytecode>;

#[derive(Clone, Debug, Default)]
pub struct WorldState {
    pub accounts: HashMap<Address, Account>,
    pub contracts: Contracts,
    pub block_hashes: Arc<BlockHashes>,
}

impl WorldState {
    pub fn from_pre(pre: &[(Address, PreAccount)], block_hashes: Arc<BlockHashes>) -> WorldState {
        let mut accounts = HashMap::default();
        let mut contracts = Contracts::default();
        // The fixture parser shares one buffer between accounts with the same code:
        // hash (and analyse) each buffer once.
        let mut hashed: HashMap<(usize, usize), B256> = HashMap::default();
        for (address, acc) in pre {
            let code_hash = if acc.code.is_empty() {
                KECCAK_EMPTY
            } else {
                *hashed.entry((acc.code.as_ptr() as usize, acc.code.len())).or_insert_with(|| {
                    let hash = keccak256(&acc.code);
                    contracts.entry(hash).or_insert_with(|| bytecode_of(&acc.code));
                    hash
                })
            };
            let storage = acc.storage.iter().filter(|(_, v)| !v.is_zero()).copied().collect();
            accounts.insert(
                *address,
                Account { balance: acc.balance, nonce: acc.nonce, code_hash, storage },
            );
        }
        WorldState { accounts, contracts, block_hashes }
    }

    /// Whether `address` holds a non-zero slot (EIP-7610's collision test).
    pub fn has_storage(&self, address: &Address) -> bool {
        self.accounts.get(address).is_some_and(|a| a.storage.values().any(|v| !v.is_zero()))
    }

    pub fn apply(&mut self, changes: &TxChanges) {
        for (address, change) in &changes.accounts {
            match change {
                AccountChange::Destroyed => {
                    self.accounts.remove(address);
                }
                AccountChange::Updated { balance, nonce, code_hash, code, storage_cleared, storage } => {
                    if let Some(code) = code {
                        if *code_hash != KECCAK_EMPTY {
                            self.contracts.entry(*code_hash).or_insert_with(|| code.clone());
                        }
                    }
                    let account = self.accounts.entry(*address).or_insert_with(Account::empty);
                    account.balance = *balance;
                    account.nonce = *nonce;
                    account.code_hash = *code_hash;
                    if *storage_cleared {
                        account.storage.clear();
                    }
                    for (slot, value) in storage {
                        if value.is_zero() {
                            account.storage.remove(slot);
                        } else {
                            account.storage.insert(*slot, *value);
                        }
                    }
                }
            }
        }
    }

    pub fn code(&self, code_hash: &B256) -> Option<&Bytecode> {
        self.contracts.get(code_hash)
    }

    /// The Merkle-Patricia root of the state. A big state's accounts are hashed and
    /// their storage roots built in parallel on the engine's pool (trie.rs); a small one
    /// (every state test) is not worth the hand-off.
    pub fn state_root(&self) -> B256 {
        use rayon::prelude::*;
        let leaf = |(address, acc): &(&Address, &Account)| {
            let account = TrieAccount {
                nonce: acc.nonce,
                balance: acc.balance,
                storage_root: crate::trie::storage_root(acc.storage.iter()),
                code_hash: acc.code_hash,
            };
            (keccak256(address), alloy_rlp::encode(account))
        };
        let accounts: Vec<(&Address, &Account)> = self.accounts.iter().collect();
        let small = accounts.len() < 256
            && accounts.iter().all(|(_, a)| a.storage.len() < crate::trie::PARALLEL_FROM_LEAVES);
        if small {
            return crate::trie::trie_root(accounts.iter().map(leaf).collect());
        }
        crate::parallel::pool::install(|| {
            crate::trie::trie_root(accounts.par_iter().with_min_len(256).map(leaf).collect())
        })
    }
}

impl DatabaseRef for WorldState {
    type Error = Infallible;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, Infallible> {
        Ok(self.accounts.get(&address).map(|acc| AccountInfo {
            balance: acc.balance,
            nonce: acc.nonce,
            code_hash: acc.code_hash,
            code: if acc.code_hash == KECCAK_EMPTY {
                Some(Bytecode::default())
            } else {
                self.contracts.get(&acc.code_hash).cloned()
            },
            ..Default::default()
        }))
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, Infallible> {
        Ok(self.contracts.get(&code_hash).cloned().unwrap_or_default())
    }

    fn storage_ref(&self, address: Address, index: U256) -> Result<U256, Infallible> {
        Ok(self
            .accounts
            .get(&address)
            .and_then(|acc| acc.storage.get(&index).copied())
            .unwrap_or_default())
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, Infallible> {
        Ok(self.block_hashes.get(number))
    }
}

/// Analysed bytecode; bytes revm rejects as a special format run as legacy code.
pub fn bytecode_of(code: &alloy_primitives::Bytes) -> Bytecode {
    Bytecode::new_raw_checked(code.clone()).unwrap_or_else(|_| Bytecode::new_legacy(code.clone()))
}

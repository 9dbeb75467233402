//! The block fixture (docs/block-fixture.md): JSON → a typed block, with every error
//! naming its JSON path. Parsing happens here, in Rust, so a 50,000-transaction block
//! never crawls through Python objects.

use crate::block_effects::{BlockEffects, Ommer};
use crate::errors::FixtureError;
use crate::fork::{Fork, FORK_NAMES};
use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use revm::context::tx::TxEnv;
use revm::context_interface::transaction::{AccessList, AccessListItem};
use revm::primitives::TxKind;
use crate::json::{get, Json};
use std::borrow::Cow;
use std::collections::HashMap;

/// An account of the pre-state.
#[derive(Clone, Debug, Default)]
pub struct PreAccount {
    pub balance: U256,
    pub nonce: u64,
    pub code: Bytes,
    pub storage: Vec<(U256, U256)>,
}

/// The block environment (field names follow ethereum/tests' `env`).
#[derive(Clone, Debug)]
pub struct BlockHeader {
    pub coinbase: Address,
    pub number: U256,
    pub timestamp: U256,
    pub gas_limit: u64,
    pub base_fee: u64,
    pub random: Option<B256>,
    pub difficulty: U256,
    pub excess_blob_gas: Option<u64>,
    pub chain_id: u64,
}

/// One transaction, ready for revm: `env.caller` is the resolved sender.
#[derive(Clone, Debug)]
pub struct Transaction {
    pub env: TxEnv,
    /// A fee field above 2**128-1 (legal in a signed transaction, beyond revm's u128):
    /// no balance can pay it, so the transaction is rejected as unaffordable.
    pub fee_overflow: bool,
    /// The EIP-2718 type: it decides the receipt's encoding.
    pub tx_type: u8,
    /// A signed transaction whose signature recovers no sender (or breaks the fork's
    /// rules): the block is invalid at this transaction (`invalid_signature`).
    pub signature_error: Option<String>,
}

#[derive(Clone, Debug)]
pub struct BlockFixture {
    pub fork: Fork,
    pub header: BlockHeader,
    /// None: the block runs on a previous result's post-state (a chain).
    pub pre: Option<Vec<(Address, PreAccount)>>,
    pub transactions: Vec<Transaction>,
    pub block_hashes: HashMap<u64, B256>,
    /// What the protocol does around the transactions (block_effects.rs).
    pub effects: BlockEffects,
}

/// Parses a fixture from JSON text.
pub fn parse_fixture(json: &[u8]) -> Result<BlockFixture, FixtureError> {
    let tree = Json::parse(json).map_err(|e| FixtureError::new("", format!("invalid JSON: {e}")))?;
    from_json(&tree)
}

/// A JSON path, built on the stack as the parser descends and written out only for an
/// error (formatting one per field would cost more than the parse).
#[derive(Clone, Copy)]
pub(crate) enum Path<'p> {
    Root,
    Key(&'p Path<'p>, &'p str),
    Index(&'p Path<'p>, usize),
}

impl<'p> Path<'p> {
    pub(crate) fn key(&'p self, key: &'p str) -> Path<'p> {
        Path::Key(self, key)
    }
    pub(crate) fn index(&'p self, i: usize) -> Path<'p> {
        Path::Index(self, i)
    }
}

impl std::fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Key(Path::Root, key) => f.write_str(key),
            Path::Key(parent, key) => write!(f, "{parent}.{key}"),
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

pub(crate) fn error(path: Path<'_>, message: impl Into<String>) -> FixtureError {
    FixtureError::new(path.to_string(), message)
}

pub(crate) type Pairs<'j, 'a> = &'j [(Cow<'a, str>, Json<'a>)];

/// Parses a fixture from a JSON tree (`json::Json`: from text, or from Python objects).
pub fn from_json(value: &Json<'_>) -> Result<BlockFixture, FixtureError> {
    let root_path = Path::Root;
    let root = as_object(value, root_path)?;
    let fork_name = as_str(required(root, root_path, "fork")?, root_path.key("fork"))?;
    let fork = Fork::from_name(fork_name).ok_or_else(|| {
        FixtureError::new(
            "fork",
            format!("unknown fork {fork_name:?}; expected one of {}", FORK_NAMES.join(", ")),
        )
    })?;
    let header = parse_env(required(root, root_path, "env")?, fork)?;
    let pre = optional(root, "pre").map(parse_pre).transpose()?;
    let txs_path = root_path.key("transactions");
    let txs_value = required(root, root_path, "transactions")?;
    let txs = txs_value.as_array().ok_or_else(|| type_error(txs_path, "a list", txs_value))?;
    let mut transactions = Vec::with_capacity(txs.len());
    for (i, tx) in txs.iter().enumerate() {
        transactions.push(parse_transaction(tx, txs_path.index(i), fork)?);
    }
    let block_hashes = match get(root, "blockHashes") {
        None | Some(Json::Null) => HashMap::new(),
        Some(v) => parse_block_hashes(v)?,
    };
    let effects = parse_effects(root, fork, &header)?;
    for (key, _) in root {
        if !TOP_FIELDS.contains(&key.as_ref()) && !key.starts_with('_') {
            return Err(FixtureError::new(key.as_ref(), "unknown field (private fields start with '_')"));
        }
    }
    Ok(BlockFixture { fork, header, pre, transactions, block_hashes, effects })
}

const TOP_FIELDS: [&str; 12] = [
    "fork",
    "env",
    "pre",
    "transactions",
    "blockHashes",
    "parentBeaconBlockRoot",
    "daoForkBlock",
    "rewards",
    "ommers",
    "withdrawals",
    "parentHash",
    "requests",
];

/// The block-level effects' fields, each checked against the fork that has it.
fn parse_effects(root: Pairs<'_, '_>, fork: Fork, header: &BlockHeader) -> Result<BlockEffects, FixtureError> {
    let root_path = Path::Root;
    let flag = |key: &str| -> Result<bool, FixtureError> {
        match optional(root, key) {
            None => Ok(false),
            Some(Json::Bool(b)) => Ok(*b),
            Some(v) => Err(type_error(root_path.key(key), "true or false", v)),
        }
    };
    let dao_fork = flag("daoForkBlock")?;
    let rewards = flag("rewards")?;
    let parent_beacon_block_root = optional(root, "parentBeaconBlockRoot")
        .map(|v| parse_b256(v, root_path.key("parentBeaconBlockRoot")))
        .transpose()?;
    if parent_beacon_block_root.is_some() && fork < Fork::Cancun {
        return Err(error(root_path.key("parentBeaconBlockRoot"), format!("the beacon-root system call starts at Cancun, not {}", fork.name())));
    }
    let mut ommers = Vec::new();
    if let Some(list) = optional(root, "ommers") {
        let path = root_path.key("ommers");
        let items = as_array(list, path)?;
        if !items.is_empty() && !rewards {
            return Err(error(path, "ommers are paid only with \"rewards\": true"));
        }
        let number = u64::try_from(header.number).unwrap_or(u64::MAX);
        for (i, item) in items.iter().enumerate() {
            let ipath = path.index(i);
            let obj = as_object(item, ipath)?;
            for (k, _) in obj {
                if !matches!(k.as_ref(), "coinbase" | "number") {
                    return Err(error(ipath.key(k), "unknown field"));
                }
            }
            let coinbase = parse_address(required(obj, ipath, "coinbase")?, ipath.key("coinbase"))?;
            let ommer_number = parse_u64(required(obj, ipath, "number")?, ipath.key("number"))?;
            if ommer_number >= number || number - ommer_number > 7 {
                return Err(error(ipath.key("number"), format!("an ommer of block {number} is 1 to 7 blocks older, not block {ommer_number}")));
            }
            ommers.push(Ommer { coinbase, number: ommer_number });
        }
    }
    let withdrawals = match optional(root, "withdrawals") {
        None => None,
        Some(list) => {
            let path = root_path.key("withdrawals");
            if fork < Fork::Shanghai {
                return Err(error(path, format!("withdrawals start at Shanghai, not {}", fork.name())));
            }
            let mut out = Vec::new();
            for (i, item) in as_array(list, path)?.iter().enumerate() {
                let ipath = path.index(i);
                let obj = as_object(item, ipath)?;
                for (k, _) in obj {
                    if !matches!(k.as_ref(), "index" | "validatorIndex" | "address" | "amount") {
                        return Err(error(ipath.key(k), "unknown field"));
                    }
                }
                out.push(alloy_eips::eip4895::Withdrawal {
                    index: parse_u64(required(obj, ipath, "index")?, ipath.key("index"))?,
                    validator_index: parse_u64(required(obj, ipath, "validatorIndex")?, ipath.key("validatorIndex"))?,
                    address: parse_address(required(obj, ipath, "address")?, ipath.key("address"))?,
                    amount: parse_u64(required(obj, ipath, "amount")?, ipath.key("amount"))?,
                });
            }
            Some(out)
        }
    };
    let parent_hash = optional(root, "parentHash").map(|v| parse_b256(v, root_path.key("parentHash"))).transpose()?;
    if parent_hash.is_some() && !fork.is_prague() {
        return Err(error(root_path.key("parentHash"), format!("the history-storage system call (EIP-2935) starts at Prague, not {}", fork.name())));
    }
    let requests = flag("requests")?;
    if requests && !fork.is_prague() {
        return Err(error(root_path.key("requests"), format!("requests (EIP-7685) start at Prague, not {}", fork.name())));
    }
    Ok(BlockEffects { parent_beacon_block_root, dao_fork, rewards, ommers, withdrawals, parent_hash, requests })
}

fn parse_env(value: &Json<'_>, fork: Fork) -> Result<BlockHeader, FixtureError> {
    let path = Path::Root;
    let path = path.key("env");
    let env = as_object(value, path)?;
    let coinbase = parse_address(required(env, path, "currentCoinbase")?, path.key("currentCoinbase"))?;
    let number = parse_u256(required(env, path, "currentNumber")?, path.key("currentNumber"))?;
    let timestamp = parse_u256(required(env, path, "currentTimestamp")?, path.key("currentTimestamp"))?;
    let gas_limit = parse_u64(required(env, path, "currentGasLimit")?, path.key("currentGasLimit"))?;
    let base_fee = match optional(env, "currentBaseFee") {
        Some(v) => parse_u64(v, path.key("currentBaseFee"))?,
        None if fork.has_base_fee() => return Err(error(path.key("currentBaseFee"), "required from London on")),
        None => 0,
    };
    let random = optional(env, "currentRandom").map(|v| parse_b256(v, path.key("currentRandom"))).transpose()?;
    let difficulty = optional(env, "currentDifficulty")
        .map(|v| parse_u256(v, path.key("currentDifficulty")))
        .transpose()?
        .unwrap_or_default();
    let excess_blob_gas = optional(env, "currentExcessBlobGas")
        .map(|v| parse_u64(v, path.key("currentExcessBlobGas")))
        .transpose()?;
    let chain_id = optional(env, "currentChainId")
        .map(|v| parse_u64(v, path.key("currentChainId")))
        .transpose()?
        .unwrap_or(1);
    Ok(BlockHeader {
        coinbase,
        number,
        timestamp,
        gas_limit,
        base_fee,
        random,
        difficulty,
        excess_blob_gas,
        chain_id,
    })
}

fn parse_pre(value: &Json<'_>) -> Result<Vec<(Address, PreAccount)>, FixtureError> {
    let root = Path::Root;
    let pre_path = root.key("pre");
    let pre = as_object(value, pre_path)?;
    let mut accounts = Vec::with_capacity(pre.len());
    // Contracts deployed many times over (a pool per pair, a proxy per wallet) carry
    // the same code text: decode it once and share the bytes.
    let mut codes: alloy_primitives::map::HashMap<&str, Bytes> = Default::default();
    for (key, account) in pre {
        let path = pre_path.key(key);
        let address = parse_address(&Json::String(Cow::Borrowed(key.as_ref())), path)?;
        let obj = as_object(account, path)?;
        let balance = parse_u256(required(obj, path, "balance")?, path.key("balance"))?;
        let nonce = parse_u64(required(obj, path, "nonce")?, path.key("nonce"))?;
        let code = match optional(obj, "code") {
            None => Bytes::new(),
            Some(v @ Json::String(text)) => match codes.get(text.as_ref()) {
                Some(code) => code.clone(),
                None => {
                    let code = parse_bytes(v, path.key("code"))?;
                    codes.insert(text.as_ref(), code.clone());
                    code
                }
            },
            Some(v) => parse_bytes(v, path.key("code"))?,
        };
        let mut storage = Vec::new();
        if let Some(st) = optional(obj, "storage") {
            let st_path = path.key("storage");
            let slots = as_object(st, st_path)?;
            storage.reserve(slots.len());
            for (slot, val) in slots {
                let slot_path = st_path.key(slot);
                let slot_key = parse_u256(&Json::String(Cow::Borrowed(slot.as_ref())), slot_path)?;
                storage.push((slot_key, parse_u256(val, slot_path)?));
            }
        }
        for (k, _) in obj {
            if !matches!(k.as_ref(), "balance" | "nonce" | "code" | "storage") {
                return Err(error(path.key(k), "unknown field"));
            }
        }
        accounts.push((address, PreAccount { balance, nonce, code, storage }));
    }
    Ok(accounts)
}

const TX_FIELDS: [&str; 20] = [
    "sender",
    "secretKey",
    "to",
    "nonce",
    "value",
    "data",
    "gasLimit",
    "gasPrice",
    "maxFeePerGas",
    "maxPriorityFeePerGas",
    "accessList",
    "blobVersionedHashes",
    "maxFeePerBlobGas",
    "type",
    "chainId",
    "v",
    "r",
    "s",
    "yParity",
    "authorizationList",
];

fn parse_transaction(value: &Json<'_>, path: Path<'_>, fork: Fork) -> Result<Transaction, FixtureError> {
    let obj = as_object(value, path)?;
    for (k, _) in obj {
        if !TX_FIELDS.contains(&k.as_ref()) && !k.starts_with('_') {
            return Err(error(path.key(k), "unknown field"));
        }
    }
    let signature = parse_signature(obj, path)?;
    let caller = match (optional(obj, "sender"), optional(obj, "secretKey")) {
        (Some(s), _) => Some(parse_address(s, path.key("sender"))?),
        (None, Some(k)) => Some(
            sender_of_secret_key(&parse_b256(k, path.key("secretKey"))?)
                .ok_or_else(|| error(path.key("secretKey"), "not a valid secp256k1 secret key"))?,
        ),
        (None, None) if signature.is_some() => None, // recovered below
        (None, None) => return Err(error(path.key("sender"), "missing field (give sender, secretKey or the signature v, r, s)")),
    };
    let kind = match optional(obj, "to") {
        None => TxKind::Create,
        Some(Json::String(s)) if s.is_empty() => TxKind::Create,
        Some(v) => TxKind::Call(parse_address(v, path.key("to"))?),
    };
    let nonce = parse_u64(required(obj, path, "nonce")?, path.key("nonce"))?;
    let value = optional(obj, "value").map(|v| parse_u256(v, path.key("value"))).transpose()?.unwrap_or_default();
    let data = optional(obj, "data").map(|v| parse_bytes(v, path.key("data"))).transpose()?.unwrap_or_default();
    let gas_limit = parse_u64(required(obj, path, "gasLimit")?, path.key("gasLimit"))?;
    let mut fee_overflow = false;
    let mut fee = |name: &str| -> Result<Option<u128>, FixtureError> {
        let Some(v) = optional(obj, name) else { return Ok(None) };
        let wide = parse_u256(v, path.key(name))?;
        fee_overflow |= wide > U256::from(u128::MAX);
        Ok(Some(u128::try_from(wide).unwrap_or(u128::MAX)))
    };
    let max_fee = fee("maxFeePerGas")?;
    let priority_fee = fee("maxPriorityFeePerGas")?;
    let gas_price = fee("gasPrice")?;
    let max_fee_per_blob_gas = fee("maxFeePerBlobGas")?;
    let (gas_price, gas_priority_fee) = match (gas_price, max_fee, priority_fee) {
        (Some(p), None, None) => (p, None),
        (None, Some(m), Some(p)) => (m, Some(p)),
        (Some(_), _, _) => return Err(error(path.key("gasPrice"), "give gasPrice or maxFeePerGas, not both")),
        (None, Some(_), None) => return Err(error(path.key("maxPriorityFeePerGas"), "missing field")),
        (None, None, _) => return Err(error(path.key("gasPrice"), "missing field (give gasPrice or maxFeePerGas)")),
    };
    let access_list = optional(obj, "accessList")
        .map(|v| parse_access_list(v, path.key("accessList")))
        .transpose()?;
    let hashes_path = path.key("blobVersionedHashes");
    let blob_hashes = optional(obj, "blobVersionedHashes")
        .map(|v| {
            as_array(v, hashes_path)?
                .iter()
                .enumerate()
                .map(|(i, h)| parse_b256(h, hashes_path.index(i)))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    // An explicit null means "no chain id" (a pre-EIP-155 legacy transaction).
    let mut chain_id = match get(obj, "chainId") {
        Some(Json::Null) => None,
        Some(v) => Some(parse_u64(v, path.key("chainId"))?),
        None => Some(1),
    };
    let authorizations = optional(obj, "authorizationList")
        .map(|v| parse_authorizations(v, path.key("authorizationList")))
        .transpose()?;
    let tx_type = match optional(obj, "type") {
        Some(v) => {
            let t = parse_u64(v, path.key("type"))?;
            if t > 4 {
                return Err(error(path.key("type"), format!("unsupported transaction type {t}")));
            }
            t as u8
        }
        None if authorizations.is_some() => 4,
        None if max_fee_per_blob_gas.is_some() || blob_hashes.is_some() => 3,
        None if max_fee.is_some() => 2,
        None if access_list.is_some() => 1,
        None => 0,
    };
    // A signed legacy transaction carries its chain id in `v` (EIP-155).
    if let (Some(sig), 0, None) = (&signature, tx_type, get(obj, "chainId")) {
        chain_id = crate::signature::legacy_chain_id(sig.v);
    }
    let env = TxEnv {
        tx_type,
        caller: caller.unwrap_or_default(),
        gas_limit,
        gas_price,
        kind,
        value,
        data,
        nonce,
        chain_id,
        access_list: access_list.unwrap_or_default(),
        gas_priority_fee,
        blob_hashes: blob_hashes.unwrap_or_default(),
        max_fee_per_blob_gas: max_fee_per_blob_gas.unwrap_or_default(),
        // Authorities are recovered by revm, which skips invalid ones as EIP-7702 says.
        authorization_list: authorizations.unwrap_or_default().into_iter().map(revm::context::either::Either::Left).collect(),
        ..TxEnv::default()
    };
    let mut tx = Transaction { env, tx_type, fee_overflow, signature_error: None };
    if let (None, Some(sig)) = (caller, signature) {
        match crate::signature::recover_sender(&tx, &sig, fork) {
            Ok(sender) => tx.env.caller = sender,
            Err(why) => tx.signature_error = Some(why),
        }
    }
    Ok(tx)
}

/// `v`, `r`, `s` (or `yParity` for `v`), all or none.
fn parse_signature(obj: Pairs<'_, '_>, path: Path<'_>) -> Result<Option<crate::signature::Signature>, FixtureError> {
    let (r, s) = (optional(obj, "r"), optional(obj, "s"));
    let v = optional(obj, "v").map(|v| (v, "v")).or_else(|| optional(obj, "yParity").map(|v| (v, "yParity")));
    match (v, r, s) {
        (None, None, None) => Ok(None),
        (Some((v, v_key)), Some(r), Some(s)) => Ok(Some(crate::signature::Signature {
            v: parse_u256(v, path.key(v_key))?,
            r: parse_u256(r, path.key("r"))?,
            s: parse_u256(s, path.key("s"))?,
        })),
        (None, _, _) => Err(error(path.key("v"), "missing field (a signature has v or yParity, r and s)")),
        (_, None, _) => Err(error(path.key("r"), "missing field (a signature has v or yParity, r and s)")),
        (_, _, None) => Err(error(path.key("s"), "missing field (a signature has v or yParity, r and s)")),
    }
}

/// EIP-7702 authorizations: `chainId`, `address`, `nonce` and the signature (`v` or
/// `yParity`, `r`, `s`); a `signer` field is informational (the authority is recovered).
fn parse_authorizations(
    value: &Json<'_>,
    path: Path<'_>,
) -> Result<Vec<alloy_eips::eip7702::SignedAuthorization>, FixtureError> {
    let mut out = Vec::new();
    for (i, item) in as_array(value, path)?.iter().enumerate() {
        let ipath = path.index(i);
        let obj = as_object(item, ipath)?;
        for (k, _) in obj {
            if !matches!(k.as_ref(), "chainId" | "address" | "nonce" | "v" | "yParity" | "r" | "s" | "signer") {
                return Err(error(ipath.key(k), "unknown field"));
            }
        }
        let inner = alloy_eips::eip7702::Authorization {
            chain_id: parse_u256(required(obj, ipath, "chainId")?, ipath.key("chainId"))?,
            address: parse_address(required(obj, ipath, "address")?, ipath.key("address"))?,
            nonce: parse_u64(required(obj, ipath, "nonce")?, ipath.key("nonce"))?,
        };
        let (parity, key) = match (optional(obj, "yParity"), optional(obj, "v")) {
            (Some(v), _) => (v, "yParity"),
            (None, Some(v)) => (v, "v"),
            (None, None) => return Err(error(ipath.key("yParity"), "missing field (give yParity or v)")),
        };
        // A parity other than 0/1 makes the authorization invalid, not the transaction:
        // keep it out of range for revm to skip.
        let parity = u8::try_from(parse_u256(parity, ipath.key(key))?).unwrap_or(u8::MAX);
        let r = parse_u256(required(obj, ipath, "r")?, ipath.key("r"))?;
        let s = parse_u256(required(obj, ipath, "s")?, ipath.key("s"))?;
        out.push(alloy_eips::eip7702::SignedAuthorization::new_unchecked(inner, parity, r, s));
    }
    Ok(out)
}

fn parse_access_list(value: &Json<'_>, path: Path<'_>) -> Result<AccessList, FixtureError> {
    let mut items = Vec::new();
    for (i, item) in as_array(value, path)?.iter().enumerate() {
        let ipath = path.index(i);
        let obj = as_object(item, ipath)?;
        let address = parse_address(required(obj, ipath, "address")?, ipath.key("address"))?;
        let keys_path = ipath.key("storageKeys");
        let storage_keys = as_array(required(obj, ipath, "storageKeys")?, keys_path)?
            .iter()
            .enumerate()
            .map(|(j, k)| parse_b256(k, keys_path.index(j)))
            .collect::<Result<Vec<_>, _>>()?;
        items.push(AccessListItem { address, storage_keys });
    }
    Ok(AccessList(items))
}

fn parse_block_hashes(value: &Json<'_>) -> Result<HashMap<u64, B256>, FixtureError> {
    let root = Path::Root;
    let hashes_path = root.key("blockHashes");
    let obj = as_object(value, hashes_path)?;
    let mut hashes = HashMap::with_capacity(obj.len());
    for (k, v) in obj {
        let path = hashes_path.key(k);
        let number = if k.starts_with("0x") {
            parse_u64(&Json::String(Cow::Borrowed(k.as_ref())), path)?
        } else {
            k.parse::<u64>().map_err(|_| error(path, format!("expected a block number, got {k:?}")))?
        };
        hashes.insert(number, parse_b256(v, path)?);
    }
    Ok(hashes)
}

/// The address of a secp256k1 secret key: keccak of the uncompressed public key.
pub fn sender_of_secret_key(key: &B256) -> Option<Address> {
    let secret = k256::ecdsa::SigningKey::from_slice(key.as_slice()).ok()?;
    let point = secret.verifying_key().to_encoded_point(false);
    Some(Address::from_slice(&keccak256(&point.as_bytes()[1..])[12..]))
}

// ---- small typed readers; each names the path on failure ------------------------

fn describe(v: &Json<'_>) -> String {
    let s = v.to_string();
    if s.len() > 80 {
        format!("{}…", &s[..s.char_indices().nth(77).map(|(i, _)| i).unwrap_or(s.len())])
    } else {
        s
    }
}

pub(crate) fn type_error(path: Path<'_>, expected: &str, got: &Json<'_>) -> FixtureError {
    error(path, format!("expected {expected}, got {}", describe(got)))
}

pub(crate) fn as_object<'j, 'a>(v: &'j Json<'a>, path: Path<'_>) -> Result<Pairs<'j, 'a>, FixtureError> {
    v.as_object().ok_or_else(|| type_error(path, "an object", v))
}

pub(crate) fn as_array<'j, 'a>(v: &'j Json<'a>, path: Path<'_>) -> Result<&'j [Json<'a>], FixtureError> {
    v.as_array().ok_or_else(|| type_error(path, "a list", v))
}

fn as_str<'j>(v: &'j Json<'_>, path: Path<'_>) -> Result<&'j str, FixtureError> {
    v.as_str().ok_or_else(|| type_error(path, "a string", v))
}

pub(crate) fn required<'j, 'a>(obj: Pairs<'j, 'a>, parent: Path<'_>, key: &str) -> Result<&'j Json<'a>, FixtureError> {
    match get(obj, key) {
        Some(Json::Null) | None => Err(error(parent.key(key), "missing field")),
        Some(v) => Ok(v),
    }
}

pub(crate) fn optional<'j, 'a>(obj: Pairs<'j, 'a>, key: &str) -> Option<&'j Json<'a>> {
    get(obj, key).filter(|v| !v.is_null())
}

/// A quantity: "0x"-prefixed hex, a decimal string of digits, or a JSON integer.
pub(crate) fn parse_u256(v: &Json<'_>, path: Path<'_>) -> Result<U256, FixtureError> {
    let (text, radix) = match v {
        Json::String(s) => match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            Some(hex) => (hex, 16),
            None if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => (s.as_ref(), 10),
            None => return Err(type_error(path, "hex quantity", v)),
        },
        // The literal exactly as written (any size).
        Json::Number(s) => {
            if !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(type_error(path, "a non-negative integer", v));
            }
            return U256::from_str_radix(s, 10)
                .map_err(|_| error(path, format!("value out of range (> 2**256-1): {s}")));
        }
        _ => return Err(type_error(path, "hex quantity", v)),
    };
    if text.is_empty() {
        return Ok(U256::ZERO);
    }
    if radix == 16 && !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(type_error(path, "hex quantity", v));
    }
    let digits = text.trim_start_matches('0');
    if radix == 16 {
        if digits.len() > 64 {
            return Err(error(path, format!("value out of range (> 2**256-1): {}", describe(v))));
        }
        return Ok(hex_quantity(digits));
    }
    U256::from_str_radix(text, radix)
        .map_err(|_| error(path, format!("value out of range (> 2**256-1): {}", describe(v))))
}

/// At most 64 hex digits, already checked, as a number (`from_str_radix` goes digit by
/// digit through a wide multiply: a sixth of a big block's parse).
fn hex_quantity(digits: &str) -> U256 {
    let nibble = |c: u8| match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => c - b'A' + 10,
    };
    let mut bytes = [0u8; 32];
    let digits = digits.as_bytes();
    for (i, &c) in digits.iter().rev().enumerate() {
        bytes[31 - i / 2] |= nibble(c) << (4 * (i % 2));
    }
    U256::from_be_bytes(bytes)
}

pub(crate) fn parse_u64(v: &Json<'_>, path: Path<'_>) -> Result<u64, FixtureError> {
    let n = parse_u256(v, path)?;
    u64::try_from(n).map_err(|_| error(path, format!("value out of range (> 2**64-1): {n:#x}")))
}

fn parse_hex_bytes(v: &Json<'_>, path: Path<'_>) -> Result<Vec<u8>, FixtureError> {
    let s = v.as_str().ok_or_else(|| type_error(path, "hex bytes", v))?;
    let hex = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .ok_or_else(|| type_error(path, "hex bytes starting with 0x", v))?;
    if hex.len() % 2 != 0 {
        return Err(type_error(path, "hex bytes (an even number of digits)", v));
    }
    alloy_primitives::hex::decode(hex).map_err(|_| type_error(path, "hex bytes", v))
}

pub(crate) fn parse_bytes(v: &Json<'_>, path: Path<'_>) -> Result<Bytes, FixtureError> {
    parse_hex_bytes(v, path).map(Bytes::from)
}

fn parse_b256(v: &Json<'_>, path: Path<'_>) -> Result<B256, FixtureError> {
    let bytes = parse_hex_bytes(v, path)?;
    if bytes.len() != 32 {
        return Err(type_error(path, "32 bytes of hex", v));
    }
    Ok(B256::from_slice(&bytes))
}

pub(crate) fn parse_address(v: &Json<'_>, path: Path<'_>) -> Result<Address, FixtureError> {
    let bytes = parse_hex_bytes(v, path).map_err(|_| type_error(path, "a 20-byte hex address", v))?;
    if bytes.len() != 20 {
        return Err(type_error(path, "a 20-byte hex address", v));
    }
    Ok(Address::from_slice(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    use serde_json::Value;

    fn from_value(v: &Value) -> Result<BlockFixture, FixtureError> {
        parse_fixture(v.to_string().as_bytes())
    }

    fn minimal() -> Value {
        serde_json::json!({
            "fork": "Cancun",
            "env": {"currentCoinbase": "0x2adc25665018aa1fe0e6bc666dac8fc2697ff9ba",
                    "currentNumber": "0x1", "currentTimestamp": "0x3e8",
                    "currentGasLimit": "0x1000000", "currentBaseFee": "0x7"},
            "pre": {"0xa94f5374fce5edbc8e2a8697c15331677e6ebf0b": {"balance": "0xffffffff", "nonce": "0x0"}},
            "transactions": [{"sender": "0xa94f5374fce5edbc8e2a8697c15331677e6ebf0b",
                              "to": "0x1000000000000000000000000000000000000000",
                              "nonce": "0x0", "gasLimit": "0x5208", "gasPrice": "0xa"}]
        })
    }

    #[test]
    fn parses_minimal_block() {
        let b = from_value(&minimal()).unwrap();
        assert_eq!(b.transactions.len(), 1);
        assert_eq!(b.transactions[0].tx_type, 0);
        assert_eq!(b.header.base_fee, 7);
    }

    #[test]
    fn errors_name_the_path() {
        let mut v = minimal();
        v["transactions"][0]["gasLimit"] = Value::String("abc".into());
        let e = from_value(&v).unwrap_err();
        assert_eq!(e.to_string(), "transactions[0].gasLimit: expected hex quantity, got \"abc\"");
    }

    #[test]
    fn hex_quantities_of_every_length() {
        let mut text = String::new();
        for i in 0..64 {
            text.push(b"0123456789abcdefABCDEF"[i % 22] as char);
            assert_eq!(hex_quantity(&text), U256::from_str_radix(&text, 16).unwrap(), "{text}");
        }
        assert_eq!(hex_quantity(""), U256::ZERO);
    }

    #[test]
    fn secret_key_derives_the_known_sender() {
        let key: B256 = "0x45a915e4d060149eb4365960e6a7a45f334393093061116b197e3240065ff2d8".parse().unwrap();
        let expected: Address = "0xa94f5374fce5edbc8e2a8697c15331677e6ebf0b".parse().unwrap();
        assert_eq!(sender_of_secret_key(&key), Some(expected));
    }
}

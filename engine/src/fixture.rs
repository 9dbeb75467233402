//! The block fixture (docs/block-fixture.md): JSON → a typed block, with every error
//! naming its JSON path. Parsing happens here, in Rust, so a 50,000-transaction block
//! never crawls through Python objects.

use crate::errors::FixtureError;
use crate::fork::{Fork, FORK_NAMES};
use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use revm::context::tx::TxEnv;
use revm::context_interface::transaction::{AccessList, AccessListItem};
use revm::primitives::TxKind;
use serde_json::{Map, Value};
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
}

#[derive(Clone, Debug)]
pub struct BlockFixture {
    pub fork: Fork,
    pub header: BlockHeader,
    pub pre: Vec<(Address, PreAccount)>,
    pub transactions: Vec<Transaction>,
    pub block_hashes: HashMap<u64, B256>,
}

/// Parses a fixture from JSON text.
pub fn parse_fixture(json: &[u8]) -> Result<BlockFixture, FixtureError> {
    let value: Value = serde_json::from_slice(json)
        .map_err(|e| FixtureError::new("", format!("invalid JSON: {e}")))?;
    from_value(&value)
}

/// Parses a fixture from an already-decoded JSON value.
pub fn from_value(value: &Value) -> Result<BlockFixture, FixtureError> {
    let root = as_object(value, "")?;
    let fork_name = as_str(required(root, "", "fork")?, "fork")?;
    let fork = Fork::from_name(fork_name).ok_or_else(|| {
        FixtureError::new(
            "fork",
            format!("unknown fork {fork_name:?}; expected one of {}", FORK_NAMES.join(", ")),
        )
    })?;
    let header = parse_env(required(root, "", "env")?, fork)?;
    let pre = parse_pre(required(root, "", "pre")?)?;
    let txs_value = required(root, "", "transactions")?;
    let txs = txs_value
        .as_array()
        .ok_or_else(|| type_error("transactions", "a list", txs_value))?;
    let mut transactions = Vec::with_capacity(txs.len());
    for (i, tx) in txs.iter().enumerate() {
        transactions.push(parse_transaction(tx, &format!("transactions[{i}]"), fork)?);
    }
    let block_hashes = match root.get("blockHashes") {
        None | Some(Value::Null) => HashMap::new(),
        Some(v) => parse_block_hashes(v)?,
    };
    for key in root.keys() {
        if !matches!(key.as_str(), "fork" | "env" | "pre" | "transactions" | "blockHashes")
            && !key.starts_with('_')
        {
            return Err(FixtureError::new(key.as_str(), "unknown field (private fields start with '_')"));
        }
    }
    Ok(BlockFixture { fork, header, pre, transactions, block_hashes })
}

fn parse_env(value: &Value, fork: Fork) -> Result<BlockHeader, FixtureError> {
    let env = as_object(value, "env")?;
    let field = |name: &str| format!("env.{name}");
    let coinbase = parse_address(required(env, "env", "currentCoinbase")?, &field("currentCoinbase"))?;
    let number = parse_u256(required(env, "env", "currentNumber")?, &field("currentNumber"))?;
    let timestamp = parse_u256(required(env, "env", "currentTimestamp")?, &field("currentTimestamp"))?;
    let gas_limit = parse_u64(required(env, "env", "currentGasLimit")?, &field("currentGasLimit"))?;
    let base_fee = match optional(env, "currentBaseFee") {
        Some(v) => parse_u64(v, &field("currentBaseFee"))?,
        None if fork.has_base_fee() => {
            return Err(FixtureError::new(field("currentBaseFee"), "required from London on"))
        }
        None => 0,
    };
    let random = optional(env, "currentRandom")
        .map(|v| parse_b256(v, &field("currentRandom")))
        .transpose()?;
    let difficulty = optional(env, "currentDifficulty")
        .map(|v| parse_u256(v, &field("currentDifficulty")))
        .transpose()?
        .unwrap_or_default();
    let excess_blob_gas = optional(env, "currentExcessBlobGas")
        .map(|v| parse_u64(v, &field("currentExcessBlobGas")))
        .transpose()?;
    let chain_id = optional(env, "currentChainId")
        .map(|v| parse_u64(v, &field("currentChainId")))
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

fn parse_pre(value: &Value) -> Result<Vec<(Address, PreAccount)>, FixtureError> {
    let pre = as_object(value, "pre")?;
    let mut accounts = Vec::with_capacity(pre.len());
    for (key, account) in pre {
        let path = format!("pre.{key}");
        let address = parse_address_str(key, &path)?;
        let obj = as_object(account, &path)?;
        let balance = parse_u256(required(obj, &path, "balance")?, &format!("{path}.balance"))?;
        let nonce = parse_u64(required(obj, &path, "nonce")?, &format!("{path}.nonce"))?;
        let code = optional(obj, "code")
            .map(|v| parse_bytes(v, &format!("{path}.code")))
            .transpose()?
            .unwrap_or_default();
        let mut storage = Vec::new();
        if let Some(st) = optional(obj, "storage") {
            let st_path = format!("{path}.storage");
            for (slot, val) in as_object(st, &st_path)? {
                let slot_path = format!("{st_path}.{slot}");
                let slot_key = parse_u256(&Value::String(slot.clone()), &slot_path)?;
                storage.push((slot_key, parse_u256(val, &slot_path)?));
            }
        }
        for k in obj.keys() {
            if !matches!(k.as_str(), "balance" | "nonce" | "code" | "storage") {
                return Err(FixtureError::new(format!("{path}.{k}"), "unknown field"));
            }
        }
        accounts.push((address, PreAccount { balance, nonce, code, storage }));
    }
    Ok(accounts)
}

const TX_FIELDS: [&str; 15] = [
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
];

fn parse_transaction(value: &Value, path: &str, _fork: Fork) -> Result<Transaction, FixtureError> {
    let obj = as_object(value, path)?;
    let f = |name: &str| format!("{path}.{name}");
    for k in obj.keys() {
        if !TX_FIELDS.contains(&k.as_str()) && !k.starts_with('_') {
            return Err(FixtureError::new(f(k), "unknown field"));
        }
    }
    let caller = match (optional(obj, "sender"), optional(obj, "secretKey")) {
        (Some(s), _) => parse_address(s, &f("sender"))?,
        (None, Some(k)) => sender_of_secret_key(&parse_b256(k, &f("secretKey"))?)
            .ok_or_else(|| FixtureError::new(f("secretKey"), "not a valid secp256k1 secret key"))?,
        (None, None) => {
            return Err(FixtureError::new(f("sender"), "missing field (give sender or secretKey)"))
        }
    };
    let kind = match optional(obj, "to") {
        None => TxKind::Create,
        Some(Value::String(s)) if s.is_empty() => TxKind::Create,
        Some(v) => TxKind::Call(parse_address(v, &f("to"))?),
    };
    let nonce = parse_u64(required(obj, path, "nonce")?, &f("nonce"))?;
    let value = optional(obj, "value")
        .map(|v| parse_u256(v, &f("value")))
        .transpose()?
        .unwrap_or_default();
    let data = optional(obj, "data")
        .map(|v| parse_bytes(v, &f("data")))
        .transpose()?
        .unwrap_or_default();
    let gas_limit = parse_u64(required(obj, path, "gasLimit")?, &f("gasLimit"))?;
    let mut fee_overflow = false;
    let mut fee = |name: &str| -> Result<Option<u128>, FixtureError> {
        let Some(v) = optional(obj, name) else { return Ok(None) };
        let wide = parse_u256(v, &f(name))?;
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
        (Some(_), _, _) => {
            return Err(FixtureError::new(f("gasPrice"), "give gasPrice or maxFeePerGas, not both"))
        }
        (None, Some(_), None) => return Err(FixtureError::new(f("maxPriorityFeePerGas"), "missing field")),
        (None, None, _) => {
            return Err(FixtureError::new(f("gasPrice"), "missing field (give gasPrice or maxFeePerGas)"))
        }
    };
    let access_list = optional(obj, "accessList")
        .map(|v| parse_access_list(v, &f("accessList")))
        .transpose()?;
    let blob_hashes = optional(obj, "blobVersionedHashes")
        .map(|v| {
            as_array(v, &f("blobVersionedHashes"))?
                .iter()
                .enumerate()
                .map(|(i, h)| parse_b256(h, &format!("{path}.blobVersionedHashes[{i}]")))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    // An explicit null means "no chain id" (a pre-EIP-155 legacy transaction).
    let chain_id = match obj.get("chainId") {
        Some(Value::Null) => None,
        Some(v) => Some(parse_u64(v, &f("chainId"))?),
        None => Some(1),
    };
    let tx_type = match optional(obj, "type") {
        Some(v) => {
            let t = parse_u64(v, &f("type"))?;
            if t > 3 {
                return Err(FixtureError::new(f("type"), format!("unsupported transaction type {t}")));
            }
            t as u8
        }
        None if max_fee_per_blob_gas.is_some() || blob_hashes.is_some() => 3,
        None if max_fee.is_some() => 2,
        None if access_list.is_some() => 1,
        None => 0,
    };
    let env = TxEnv {
        tx_type,
        caller,
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
        ..TxEnv::default()
    };
    Ok(Transaction { env, tx_type, fee_overflow })
}

fn parse_access_list(value: &Value, path: &str) -> Result<AccessList, FixtureError> {
    let mut items = Vec::new();
    for (i, item) in as_array(value, path)?.iter().enumerate() {
        let ipath = format!("{path}[{i}]");
        let obj = as_object(item, &ipath)?;
        let address = parse_address(required(obj, &ipath, "address")?, &format!("{ipath}.address"))?;
        let keys_path = format!("{ipath}.storageKeys");
        let storage_keys = as_array(required(obj, &ipath, "storageKeys")?, &keys_path)?
            .iter()
            .enumerate()
            .map(|(j, k)| parse_b256(k, &format!("{keys_path}[{j}]")))
            .collect::<Result<Vec<_>, _>>()?;
        items.push(AccessListItem { address, storage_keys });
    }
    Ok(AccessList(items))
}

fn parse_block_hashes(value: &Value) -> Result<HashMap<u64, B256>, FixtureError> {
    let obj = as_object(value, "blockHashes")?;
    let mut hashes = HashMap::with_capacity(obj.len());
    for (k, v) in obj {
        let path = format!("blockHashes.{k}");
        let number = if k.starts_with("0x") {
            parse_u64(&Value::String(k.clone()), &path)?
        } else {
            k.parse::<u64>()
                .map_err(|_| FixtureError::new(&path, format!("expected a block number, got {k:?}")))?
        };
        hashes.insert(number, parse_b256(v, &path)?);
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

fn describe(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 80 {
        format!("{}…", &s[..s.char_indices().nth(77).map(|(i, _)| i).unwrap_or(s.len())])
    } else {
        s
    }
}

fn type_error(path: &str, expected: &str, got: &Value) -> FixtureError {
    FixtureError::new(path, format!("expected {expected}, got {}", describe(got)))
}

fn as_object<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>, FixtureError> {
    v.as_object().ok_or_else(|| type_error(path, "an object", v))
}

fn as_array<'a>(v: &'a Value, path: &str) -> Result<&'a Vec<Value>, FixtureError> {
    v.as_array().ok_or_else(|| type_error(path, "a list", v))
}

fn as_str<'a>(v: &'a Value, path: &str) -> Result<&'a str, FixtureError> {
    v.as_str().ok_or_else(|| type_error(path, "a string", v))
}

fn required<'a>(obj: &'a Map<String, Value>, parent: &str, key: &str) -> Result<&'a Value, FixtureError> {
    match obj.get(key) {
        Some(Value::Null) | None => {
            let path = if parent.is_empty() { key.to_string() } else { format!("{parent}.{key}") };
            Err(FixtureError::new(path, "missing field"))
        }
        Some(v) => Ok(v),
    }
}

fn optional<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

/// A quantity: "0x"-prefixed hex, a decimal string of digits, or a JSON integer.
fn parse_u256(v: &Value, path: &str) -> Result<U256, FixtureError> {
    let (text, radix) = match v {
        Value::String(s) => match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            Some(hex) => (hex, 16),
            None if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => (s.as_str(), 10),
            None => return Err(type_error(path, "hex quantity", v)),
        },
        // With serde_json's arbitrary_precision the literal is kept exactly.
        Value::Number(n) => {
            let s = n.to_string();
            if !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(type_error(path, "a non-negative integer", v));
            }
            return U256::from_str_radix(&s, 10)
                .map_err(|_| FixtureError::new(path, format!("value out of range (> 2**256-1): {s}")));
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
    if radix == 16 && digits.len() > 64 {
        return Err(FixtureError::new(path, format!("value out of range (> 2**256-1): {}", describe(v))));
    }
    U256::from_str_radix(text, radix)
        .map_err(|_| FixtureError::new(path, format!("value out of range (> 2**256-1): {}", describe(v))))
}

fn parse_u64(v: &Value, path: &str) -> Result<u64, FixtureError> {
    let n = parse_u256(v, path)?;
    u64::try_from(n).map_err(|_| FixtureError::new(path, format!("value out of range (> 2**64-1): {n:#x}")))
}

fn parse_hex_bytes(v: &Value, path: &str) -> Result<Vec<u8>, FixtureError> {
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

fn parse_bytes(v: &Value, path: &str) -> Result<Bytes, FixtureError> {
    parse_hex_bytes(v, path).map(Bytes::from)
}

fn parse_b256(v: &Value, path: &str) -> Result<B256, FixtureError> {
    let bytes = parse_hex_bytes(v, path)?;
    if bytes.len() != 32 {
        return Err(type_error(path, "32 bytes of hex", v));
    }
    Ok(B256::from_slice(&bytes))
}

fn parse_address(v: &Value, path: &str) -> Result<Address, FixtureError> {
    let bytes = parse_hex_bytes(v, path).map_err(|_| type_error(path, "a 20-byte hex address", v))?;
    if bytes.len() != 20 {
        return Err(type_error(path, "a 20-byte hex address", v));
    }
    Ok(Address::from_slice(&bytes))
}

fn parse_address_str(s: &str, path: &str) -> Result<Address, FixtureError> {
    parse_address(&Value::String(s.to_string()), path)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn secret_key_derives_the_known_sender() {
        let key: B256 = "0x45a915e4d060149eb4365960e6a7a45f334393093061116b197e3240065ff2d8".parse().unwrap();
        let expected: Address = "0xa94f5374fce5edbc8e2a8697c15331677e6ebf0b".parse().unwrap();
        assert_eq!(sender_of_secret_key(&key), Some(expected));
    }
}

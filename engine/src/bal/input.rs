//! A block access list given to `execute`: its JSON form (alloy's serde form, the one
//! `eth_getBlockAccessList` serves and `BlockResult.block_access_list` returns) or its
//! RLP encoding. A malformed one is a `FixtureError` naming the path in it.

use alloy_eips::eip7928::{
    AccountChanges, BalanceChange, BlockAccessIndex, CodeChange, NonceChange, SlotChanges, StorageChange,
};
use alloy_rlp::Decodable;

use super::BlockAccessList;
use crate::errors::FixtureError;
use crate::fixture::{as_array, as_object, error, optional, parse_address, parse_bytes, parse_u256, parse_u64, required, Path};
use crate::json::Json;

/// The first of `keys` present in `obj` (alloy's field name, then its aliases).
fn field<'j, 'a>(obj: crate::fixture::Pairs<'j, 'a>, path: Path<'_>, keys: &[&str]) -> Result<&'j Json<'a>, FixtureError> {
    keys.iter().find_map(|k| optional(obj, k)).map_or_else(|| required(obj, path, keys[0]), Ok)
}

fn list<'j, 'a, T>(
    obj: crate::fixture::Pairs<'j, 'a>,
    path: Path<'_>,
    key: &str,
    item: impl Fn(&'j Json<'a>, Path<'_>) -> Result<T, FixtureError>,
) -> Result<Vec<T>, FixtureError> {
    let Some(value) = optional(obj, key) else { return Ok(Vec::new()) };
    let here = path.key(key);
    as_array(value, here)?.iter().enumerate().map(|(i, v)| item(v, here.index(i))).collect()
}

fn index(obj: crate::fixture::Pairs<'_, '_>, path: Path<'_>) -> Result<BlockAccessIndex, FixtureError> {
    let keys = ["index", "blockAccessIndex", "txIndex"];
    let value = field(obj, path, &keys)?;
    let key = keys.iter().find(|k| optional(obj, k).is_some()).copied().unwrap_or(keys[0]);
    Ok(BlockAccessIndex::new(parse_u64(value, path.key(key))?))
}

/// The list from its JSON form; `root` names it in errors ("access_list").
pub fn from_json(value: &Json<'_>, root: &str) -> Result<BlockAccessList, FixtureError> {
    let top = Path::Root;
    let path = top.key(root);
    let accounts = as_array(value, path)?;
    accounts
        .iter()
        .enumerate()
        .map(|(i, account)| {
            let path = path.index(i);
            let obj = as_object(account, path)?;
            let address = parse_address(required(obj, path, "address")?, path.key("address"))?;
            let storage_changes = list(obj, path, "storageChanges", |v, path| {
                let obj = as_object(v, path)?;
                let slot = parse_u256(field(obj, path, &["key", "slot"])?, path.key("key"))?;
                let changes_key = if optional(obj, "changes").is_some() { "changes" } else { "slotChanges" };
                let changes = list(obj, path, changes_key, |v, path| {
                    let obj = as_object(v, path)?;
                    let value = parse_u256(field(obj, path, &["value", "newValue", "postValue"])?, path.key("value"))?;
                    Ok(StorageChange::new(index(obj, path)?, value))
                })?;
                Ok(SlotChanges::new(slot, changes))
            })?;
            let storage_reads = list(obj, path, "storageReads", parse_u256)?;
            let balance_changes = list(obj, path, "balanceChanges", |v, path| {
                let obj = as_object(v, path)?;
                let value = parse_u256(field(obj, path, &["value", "postBalance"])?, path.key("value"))?;
                Ok(BalanceChange::new(index(obj, path)?, value))
            })?;
            let nonce_changes = list(obj, path, "nonceChanges", |v, path| {
                let obj = as_object(v, path)?;
                let value = parse_u64(field(obj, path, &["value", "newNonce", "postNonce"])?, path.key("value"))?;
                Ok(NonceChange::new(index(obj, path)?, value))
            })?;
            let code_changes = list(obj, path, "codeChanges", |v, path| {
                let obj = as_object(v, path)?;
                let code = parse_bytes(field(obj, path, &["code", "newCode"])?, path.key("code"))?;
                Ok(CodeChange::new(index(obj, path)?, code))
            })?;
            Ok(AccountChanges { address, storage_changes, storage_reads, balance_changes, nonce_changes, code_changes })
        })
        .collect()
}

/// The list from its RLP encoding (as a block body carries it).
pub fn from_rlp(mut bytes: &[u8], root: &str) -> Result<BlockAccessList, FixtureError> {
    let list = Vec::<AccountChanges>::decode(&mut bytes).map_err(|e| error(Path::Root.key(root), format!("not an RLP block access list: {e}")))?;
    if !bytes.is_empty() {
        return Err(error(Path::Root.key(root), format!("{} bytes after the RLP list", bytes.len())));
    }
    Ok(list)
}

/// The list as JSON text (alloy's serde form).
pub fn to_json(list: &BlockAccessList) -> String {
    serde_json::to_string(list).unwrap_or_else(|e| format!("\"cannot serialise: {e}\""))
}

//! The collaborative scheduler of Block-STM (Gelashvili et al., 2022, algorithm 4):
//! workers pull execution and validation tasks in transaction order; an incarnation
//! that reads an ESTIMATE suspends on its blocker and is resumed when the blocker
//! finishes; aborts lower the validation index so higher transactions revalidate.
//!
//! Termination: `done` is set only when both indices are past the block, no task is
//! active, and no index was lowered in between (the `decrease_cnt` double check).
//! The workers themselves stop once every transaction is committed (commit.rs): a
//! committed transaction is final, never validated or aborted again.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Mutex;

use super::mv_memory::TxIdx;
use super::padded::CachePadded;
use crate::faults::{self, Fault};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Task {
    Execute(TxIdx, usize),
    Validate(TxIdx, usize),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    ReadyToExecute,
    Executing,
    Executed,
    Aborting,
    /// Final: committed in order (commit.rs).
    Committed,
}

pub struct Scheduler {
    n: usize,
    execution_idx: CachePadded<AtomicUsize>,
    validation_idx: CachePadded<AtomicUsize>,
    decrease_cnt: CachePadded<AtomicUsize>,
    num_active_tasks: CachePadded<AtomicUsize>,
    done: CachePadded<AtomicBool>,
    status: Vec<CachePadded<Mutex<(usize, Status)>>>,
    dependents: Vec<Mutex<Vec<TxIdx>>>,
}

impl Scheduler {
    pub fn new(n: usize) -> Self {
        Scheduler {
            n,
            execution_idx: CachePadded::default(),
            validation_idx: CachePadded::default(),
            decrease_cnt: CachePadded::default(),
            num_active_tasks: CachePadded::default(),
            done: CachePadded(AtomicBool::new(n == 0)),
            status: (0..n).map(|_| CachePadded(Mutex::new((0, Status::ReadyToExecute)))).collect(),
            dependents: (0..n).map(|_| Mutex::new(Vec::new())).collect(),
        }
    }

    /// The scheduler's state around an anomaly: every transaction not executed, with
    /// the dependents lists that hold it.
    pub fn describe(&self, tx: TxIdx) -> String {
        let mut parts = Vec::new();
        for t in 0..self.n {
            let (incarnation, status) = *self.status[t].lock().unwrap();
            if matches!(status, Status::Executed | Status::Committed) && t != tx {
                continue;
            }
            let waiting_on: Vec<TxIdx> =
                (0..self.n).filter(|b| self.dependents[*b].lock().unwrap().contains(&t)).collect();
            parts.push(format!("tx {t}: incarnation {incarnation} {status:?}, waiting on {waiting_on:?}"));
        }
        format!(
            "{}; execution index {}, validation index {}, active {}",
            parts.join("; "),
            self.execution_idx.load(SeqCst),
            self.validation_idx.load(SeqCst),
            self.num_active_tasks.load(SeqCst)
        )
    }

    pub fn done(&self) -> bool {
        self.done.load(SeqCst)
    }

    fn decrease_execution_idx(&self, target: TxIdx) {
        self.execution_idx.fetch_min(target, SeqCst);
        self.decrease_cnt.fetch_add(1, SeqCst);
    }

    fn decrease_validation_idx(&self, target: TxIdx) {
        self.validation_idx.fetch_min(target, SeqCst);
        self.decrease_cnt.fetch_add(1, SeqCst);
    }

    fn check_done(&self) {
        let observed = self.decrease_cnt.load(SeqCst);
        if self.execution_idx.load(SeqCst).min(self.validation_idx.load(SeqCst)) >= self.n
            && self.num_active_tasks.load(SeqCst) == 0
            && observed == self.decrease_cnt.load(SeqCst)
        {
            self.done.store(true, SeqCst);
        }
    }

    fn try_incarnate(&self, tx: TxIdx) -> Option<Task> {
        if tx < self.n {
            let mut status = self.status[tx].lock().unwrap();
            if status.1 == Status::ReadyToExecute {
                status.1 = Status::Executing;
                return Some(Task::Execute(tx, status.0));
            }
        }
        self.num_active_tasks.fetch_sub(1, SeqCst);
        None
    }

    fn next_version_to_execute(&self) -> Option<Task> {
        if self.execution_idx.load(SeqCst) >= self.n {
            self.check_done();
            return None;
        }
        self.num_active_tasks.fetch_add(1, SeqCst);
        let tx = self.execution_idx.fetch_add(1, SeqCst);
        self.try_incarnate(tx)
    }

    fn next_version_to_validate(&self) -> Option<Task> {
        if self.validation_idx.load(SeqCst) >= self.n {
            self.check_done();
            return None;
        }
        self.num_active_tasks.fetch_add(1, SeqCst);
        let tx = self.validation_idx.fetch_add(1, SeqCst);
        if tx < self.n {
            let status = self.status[tx].lock().unwrap();
            if status.1 == Status::Executed {
                return Some(Task::Validate(tx, status.0));
            }
        }
        self.num_active_tasks.fetch_sub(1, SeqCst);
        None
    }

    /// The next task for an idle worker, validations first when they are behind.
    pub fn next_task(&self) -> Option<Task> {
        if self.validation_idx.load(SeqCst) < self.execution_idx.load(SeqCst) {
            self.next_version_to_validate()
        } else {
            self.next_version_to_execute()
        }
    }

    /// `tx` read an ESTIMATE of `blocking`. Returns false when `blocking` finished in
    /// the meantime (re-execute at once); otherwise `tx` waits and its task ends.
    pub fn add_dependency(&self, tx: TxIdx, blocking: TxIdx) -> bool {
        let mut dependents = self.dependents[blocking].lock().unwrap();
        if matches!(self.status[blocking].lock().unwrap().1, Status::Executed | Status::Committed) {
            return false;
        }
        self.status[tx].lock().unwrap().1 = Status::Aborting;
        dependents.push(tx);
        drop(dependents);
        self.num_active_tasks.fetch_sub(1, SeqCst);
        true
    }

    fn set_ready(&self, tx: TxIdx) {
        let mut status = self.status[tx].lock().unwrap();
        *status = (status.0 + 1, Status::ReadyToExecute);
    }

    fn resume_dependents(&self, tx: TxIdx) {
        let waiting = std::mem::take(&mut *self.dependents[tx].lock().unwrap());
        if faults::active(Fault::DropWakeUp) { self.num_active_tasks.fetch_add(waiting.len(), SeqCst); return; }
        if let Some(&min) = waiting.iter().min() {
            for dependent in waiting {
                self.set_ready(dependent);
            }
            self.decrease_execution_idx(min);
        }
    }

    /// An incarnation finished executing; may hand back its validation task.
    pub fn finish_execution(&self, tx: TxIdx, incarnation: usize, wrote_new_location: bool) -> Option<Task> {
        self.status[tx].lock().unwrap().1 = Status::Executed;
        self.resume_dependents(tx);
        if self.validation_idx.load(SeqCst) > tx {
            if wrote_new_location {
                self.decrease_validation_idx(tx);
            } else {
                return Some(Task::Validate(tx, incarnation));
            }
        }
        self.num_active_tasks.fetch_sub(1, SeqCst);
        None
    }

    /// Only the first failed validation of an incarnation aborts it.
    pub fn try_validation_abort(&self, tx: TxIdx, incarnation: usize) -> bool {
        let incarnation = if faults::active(Fault::ValidateWrongIncarnation) { incarnation.saturating_sub(1) } else { incarnation };
        let mut status = self.status[tx].lock().unwrap();
        if *status == (incarnation, Status::Executed) {
            status.1 = Status::Aborting;
            return true;
        }
        false
    }

    /// The incarnation of `tx` if it is executed (and not yet committed).
    pub fn executed_incarnation(&self, tx: TxIdx) -> Option<usize> {
        let status = self.status[tx].lock().unwrap();
        (status.1 == Status::Executed).then_some(status.0)
    }

    /// A validation at commit time begins: it counts as an active task, like one taken
    /// from the validation index, and ends with `finish_validation`.
    pub fn begin_commit_validation(&self) {
        self.num_active_tasks.fetch_add(1, SeqCst);
    }

    /// Commits incarnation `incarnation` of `tx` if it is still the executed one: from
    /// here on nothing aborts it.
    pub fn try_commit(&self, tx: TxIdx, incarnation: usize) -> bool {
        let mut status = self.status[tx].lock().unwrap();
        if *status == (incarnation, Status::Executed) {
            status.1 = Status::Committed;
            return true;
        }
        false
    }

    /// A validation finished; an aborted transaction may be re-executed right away.
    pub fn finish_validation(&self, tx: TxIdx, aborted: bool) -> Option<Task> {
        if aborted {
            self.set_ready(tx);
            self.decrease_validation_idx(tx + 1);
            if self.execution_idx.load(SeqCst) > tx {
                return self.try_incarnate(tx);
            }
        }
        self.num_active_tasks.fetch_sub(1, SeqCst);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executes_then_validates_every_transaction_once_without_conflicts() {
        let s = Scheduler::new(3);
        let mut executed = vec![];
        let mut validated = vec![];
        let mut task = None;
        while !s.done() {
            task = match task.or_else(|| s.next_task()) {
                Some(Task::Execute(tx, inc)) => {
                    executed.push(tx);
                    s.finish_execution(tx, inc, true)
                }
                Some(Task::Validate(tx, _)) => {
                    validated.push(tx);
                    s.finish_validation(tx, false)
                }
                None => None,
            };
        }
        assert_eq!(executed, vec![0, 1, 2]);
        validated.sort();
        assert_eq!(validated, vec![0, 1, 2]);
    }

    #[test]
    fn an_empty_block_is_done_at_once() {
        assert!(Scheduler::new(0).done());
    }
}

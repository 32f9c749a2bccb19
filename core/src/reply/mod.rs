//! Reading an end user's reply. (Being written.)
use std::collections::BTreeMap;
use crate::scale::Score;

#[derive(Debug, Clone, Default)]
pub struct Labels { by_score: BTreeMap<Score, String> }
impl Labels {
    pub fn new(by_score: BTreeMap<Score, String>) -> Self { Self { by_score } }
    pub fn get(&self, score: Score) -> Option<&str> { self.by_score.get(&score).map(String::as_str) }
}
pub fn fold(text: &str) -> String { text.trim().to_lowercase() }
pub enum Understanding {}
pub enum NoRating {}
pub fn understand() {}

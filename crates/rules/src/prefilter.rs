//! Keyword guards: one pass over each email finds every keyword any rule needs, so most rule
//! checks become bit tests instead of regex scans. Most rules do not fire on most mail, and a
//! regex call costs far more than a bit test: this is what keeps the engine fast.
//!
//! What a rule's keywords are is derived from its pattern, never written by hand, so a guard
//! never changes an answer, it only saves the scan:
//!
//! - *necessary* keywords: per branch of the pattern (`a|b|c`), one or two sets of literals such
//!   that every match of the branch contains a literal of each set. A branch whose sets are
//!   absent from the text a rule reads cannot match there. Branches without such sets
//!   (`\d{4}`, `\bcr\b`: too short a literal to be selective) are kept as a small regex of
//!   their own, run only when no other branch can match.
//! - *sufficient* keywords: branches that are plain strings (`credited`, `cash withdrawal`, no
//!   `\b` or `$` around them). One of them in the text is a match.
//!
//! [`Hits`] is the per-email side: every keyword occurrence in `Doc::lower`, plus which keywords
//! the subject, the body and the whole text contain, so a rule asks about exactly the slice it
//! reads (the subject, the body, the label before an amount …).

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{LazyLock, OnceLock};

use regex::Regex;
use regex_syntax::hir::{Class, Hir, HirKind};

use crate::text::Doc;

/// A regex over lower-cased text, with the keywords that settle most checks without it.
#[derive(Debug)]
pub(crate) struct Rule {
    regex: Regex,
    /// Per branch that has them, its keyword sets; empty when no branch has any (the rule then
    /// always runs its regex).
    branches: Vec<Vec<Vec<u8>>>,
    /// How many sets each branch has, in order (their sets are consecutive in `branches`).
    sets_per_branch: Vec<usize>,
    /// The branches without keyword sets, as a regex of their own.
    rest: Option<Regex>,
    /// Literals each of which is a match by itself.
    sufficient: Vec<Vec<u8>>,
    /// The keywords as ids of [`KEYWORDS`], resolved on first use (they are numbered across
    /// every rule, so not while a rule is being built); `None` if that failed.
    guard: OnceLock<Option<Guard>>,
}

#[derive(Debug)]
struct Guard {
    /// Every keyword of every branch's first set: no branch can match without one.
    first: Sparse,
    /// Per branch, per set, its keyword ids.
    branches: Vec<Vec<Box<[u32]>>>,
    sufficient: Option<Sparse>,
}

impl Rule {
    /// Compiles `pattern` (see [`crate::text::regex`]) and derives its keywords.
    pub fn new(pattern: &str) -> Self {
        let regex = crate::text::regex(pattern);
        let hir = regex_syntax::parse(&crate::text::ascii_pattern(pattern)).ok();
        let mut rule = Self {
            regex,
            branches: Vec::new(),
            sets_per_branch: Vec::new(),
            rest: None,
            sufficient: hir.as_ref().map(sufficient).unwrap_or_default(),
            guard: OnceLock::new(),
        };
        let Some(hir) = hir else { return rule };
        let mut rest = Vec::new();
        for branch in top_branches(&hir) {
            match branch_sets(branch) {
                Some(sets) => {
                    rule.sets_per_branch.push(sets.len());
                    rule.branches.extend(sets);
                }
                None => rest.push(branch.clone()),
            }
        }
        if rule.sets_per_branch.is_empty() {
            return rule;
        }
        if !rest.is_empty() {
            // A regex of the other branches alone: it matches where one of them does.
            match Regex::new(&Hir::alternation(rest).to_string()) {
                Ok(regex) => rule.rest = Some(regex),
                Err(_) => {
                    rule.branches.clear();
                    rule.sets_per_branch.clear();
                }
            }
        }
        rule
    }

    /// The compiled regex.
    pub fn regex(&self) -> &Regex {
        &self.regex
    }

    fn guard(&self) -> Option<&Guard> {
        self.guard.get_or_init(|| self.resolve()).as_ref()
    }

    fn resolve(&self) -> Option<Guard> {
        if self.sets_per_branch.is_empty() {
            return None;
        }
        let keywords = &*KEYWORDS;
        let mut sets = self.branches.iter();
        let mut first = Bits::default();
        let mut branches = Vec::new();
        for count in &self.sets_per_branch {
            let mut ids = Vec::new();
            for set in sets.by_ref().take(*count) {
                let set: Option<Box<[u32]>> = set.iter().map(|k| keywords.ids.get(k).copied()).collect();
                ids.push(set?);
            }
            for id in ids.first()?.iter() {
                first.set(*id);
            }
            branches.push(ids);
        }
        let sufficient = if self.sufficient.is_empty() {
            None
        } else {
            let mut bits = Bits::default();
            for keyword in &self.sufficient {
                bits.set(*keywords.ids.get(keyword)?);
            }
            Some(Sparse::from(&bits))
        };
        Some(Guard { first: Sparse::from(&first), branches, sufficient })
    }

    /// Whether some branch's keywords are all in `present`.
    fn keywords_allow(guard: &Guard, present: &Bits) -> bool {
        present.intersects(&guard.first)
            && guard.branches.iter().any(|sets| sets.iter().all(|ids| ids.iter().any(|id| present.has(*id))))
    }

    /// Whether the rule can match somewhere in `doc.lower[range]`: false only when no branch's
    /// keywords lie inside that range and no branch without keywords matches there.
    pub fn may_match(&self, doc: &Doc, range: Range<usize>) -> bool {
        let Some(guard) = self.guard() else { return true };
        Self::keywords_allow(guard, doc.hits.within(range.clone(), &mut None))
            || self.rest.as_ref().is_some_and(|rest| rest.is_match(&doc.lower[range]))
    }

    /// `Regex::is_match` on `doc.lower[range]`, settled by keywords where they can settle it.
    pub fn is_match(&self, doc: &Doc, range: Range<usize>) -> bool {
        self.is_match_in(doc.hits.within(range.clone(), &mut None), &doc.lower, range)
    }

    /// `Regex::is_match` on `text[range]`, where `present` holds the keywords inside `range`
    /// ([`Hits::within`]; several rules reading one window share it).
    pub fn is_match_in(&self, present: &Bits, text: &str, range: Range<usize>) -> bool {
        let Some(guard) = self.guard() else { return self.regex.is_match(&text[range]) };
        if guard.sufficient.as_ref().is_some_and(|bits| present.intersects(bits)) {
            return true;
        }
        if Self::keywords_allow(guard, present) {
            return self.regex.is_match(&text[range]);
        }
        self.rest.as_ref().is_some_and(|rest| rest.is_match(&text[range]))
    }

    /// Where the keywords of the branches' first sets occur in `doc.lower`: every match
    /// contains one. `None` when the rule has branches without keywords, or none at all (then
    /// a match can be anywhere).
    pub fn keyword_hits<'d>(&'d self, doc: &'d Doc) -> Option<impl Iterator<Item = Range<usize>> + 'd> {
        if self.rest.is_some() {
            return None;
        }
        let first = &self.guard()?.first;
        let hits = doc.hits.hits.iter().filter(move |h| first.has(h.id));
        Some(hits.map(|h| h.start as usize..h.end as usize))
    }
}

/// How many keywords the index can number; keywords beyond leave their rules unguarded.
const CAPACITY: usize = 64 * 40;

/// A set of keyword ids.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bits([u64; CAPACITY / 64]);

impl Default for Bits {
    fn default() -> Self {
        Self([0; CAPACITY / 64])
    }
}

impl Bits {
    fn intersects(&self, other: &Sparse) -> bool {
        other.words.iter().any(|(i, word)| self.0[*i as usize] & word != 0)
    }

    fn set(&mut self, id: u32) {
        self.0[id as usize / 64] |= 1 << (id % 64);
    }

    fn has(&self, id: u32) -> bool {
        self.0[id as usize / 64] & (1 << (id % 64)) != 0
    }
}

/// The keywords of every rule, and the filter that finds them.
///
/// Each keyword is looked up by its anchor, its first three or four bytes. At every position of
/// a text, the three and four bytes there are hashed into two bitmaps small enough to stay in
/// the L1 cache; only where a bit is set is the anchor looked up and its keywords compared. An
/// automaton over all keywords would be exact without the look-up, but its table is megabytes
/// and the scan waits on a cache miss at almost every byte.
struct Keywords {
    three: Filter,
    four: Filter,
    ids: HashMap<Vec<u8>, u32>,
}

/// The anchors of one length: a bitmap of their hashes, and per set bit the keywords there.
struct Filter {
    bits: Box<[u64]>,
    /// Set bits before each word of `bits`, so a bit's rank is one popcount away.
    ranks: Box<[u32]>,
    /// Per set bit, in order, where its keywords start in `entries` (and, last, the end).
    slots: Vec<u32>,
    /// Every keyword, grouped by the slot of its anchor.
    entries: Vec<Entry>,
    /// What follows each anchor, in the order of `entries`.
    tails: Vec<u8>,
}

/// One keyword of a filter.
struct Entry {
    /// The anchor's bytes, little-endian.
    anchor: u32,
    id: u32,
    /// What follows the anchor: its length, its first eight bytes (little-endian, zero-padded)
    /// kept here so most keywords are compared without another memory access, and where the
    /// rest is in `Filter::tails`.
    tail_len: u32,
    head: u64,
    rest: u32,
}

/// How many bytes of a tail an entry holds itself.
const HEAD: usize = 8;

impl Filter {
    /// A filter of the keywords `(id, bytes)` whose anchors are their first `anchor_len` bytes.
    fn new(anchor_len: usize, mut keywords: Vec<(u32, Vec<u8>)>) -> Self {
        let anchor = |keyword: &[u8]| anchor_key(&keyword[..anchor_len]);
        keywords.sort_by_key(|(_, keyword)| filter_slot(anchor(keyword)));
        let mut bits = vec![0u64; (1 << FILTER_BITS) / 64].into_boxed_slice();
        let mut slots = Vec::new();
        let mut entries = Vec::with_capacity(keywords.len());
        let mut tails = Vec::new();
        let mut previous = None;
        for (id, keyword) in &keywords {
            let slot = filter_slot(anchor(keyword));
            bits[slot / 64] |= 1 << (slot % 64);
            if previous != Some(slot) {
                slots.push(entries.len() as u32);
                previous = Some(slot);
            }
            let tail = &keyword[anchor_len..];
            let (head, rest) = tail.split_at(tail.len().min(HEAD));
            entries.push(Entry {
                anchor: anchor(keyword),
                id: *id,
                tail_len: tail.len() as u32,
                head: little_endian(head),
                rest: tails.len() as u32,
            });
            tails.extend_from_slice(rest);
        }
        slots.push(entries.len() as u32);
        let mut ranks = Vec::with_capacity(bits.len());
        let mut rank = 0;
        for word in &bits {
            ranks.push(rank);
            rank += word.count_ones();
        }
        Self { bits, ranks: ranks.into_boxed_slice(), slots, entries, tails }
    }

    /// Whether an anchor may hash to `slot`.
    fn has(&self, slot: usize) -> bool {
        self.bits[slot / 64] & (1 << (slot % 64)) != 0
    }

    /// The keywords whose anchors hash to the set bit `slot`.
    fn at(&self, slot: usize) -> &[Entry] {
        let word = self.bits[slot / 64];
        let rank = (self.ranks[slot / 64] + (word & ((1 << (slot % 64)) - 1)).count_ones()) as usize;
        &self.entries[self.slots[rank] as usize..self.slots[rank + 1] as usize]
    }

    /// Whether `text` starts with the entry's tail.
    fn tail_matches(&self, entry: &Entry, text: &[u8]) -> bool {
        let len = entry.tail_len as usize;
        if text.len() < len {
            return false;
        }
        let (head, rest) = text[..len].split_at(len.min(HEAD));
        little_endian(head) == entry.head
            && (rest.is_empty() || rest == &self.tails[entry.rest as usize..entry.rest as usize + rest.len()])
    }
}

/// Bits in each anchor bitmap: 4 KiB each, and few enough anchors that a set bit is rarely a
/// collision.
const FILTER_BITS: u32 = 15;

/// The bitmap position of an anchor's bytes (little-endian, up to four).
fn filter_slot(key: u32) -> usize {
    (key.wrapping_mul(0x9e37_79b1) >> (32 - FILTER_BITS)) as usize
}

/// Up to four bytes, little-endian.
fn anchor_key(anchor: &[u8]) -> u32 {
    anchor.iter().rev().fold(0, |key, b| key << 8 | u32::from(*b))
}

/// Up to eight bytes, little-endian, zero-padded.
fn little_endian(bytes: &[u8]) -> u64 {
    let mut padded = [0u8; 8];
    padded[..bytes.len()].copy_from_slice(bytes);
    u64::from_le_bytes(padded)
}

static KEYWORDS: LazyLock<Keywords> = LazyLock::new(|| {
    let mut ids: HashMap<Vec<u8>, u32> = HashMap::new();
    let (mut three, mut four) = (Vec::new(), Vec::new());
    for rule in every_rule() {
        for keyword in rule.branches.iter().flatten().chain(&rule.sufficient) {
            if ids.contains_key(keyword) || ids.len() == CAPACITY {
                continue;
            }
            let id = ids.len() as u32;
            ids.insert(keyword.clone(), id);
            // Keywords are at least three bytes; longer ones are found by their first four.
            if keyword.len() == 3 { &mut three } else { &mut four }.push((id, keyword.clone()));
        }
    }
    Keywords { three: Filter::new(3, three), four: Filter::new(4, four), ids }
});

/// Every guarded rule; only these contribute keywords.
fn every_rule() -> Vec<&'static Rule> {
    let mut rules = Vec::new();
    rules.extend(crate::classify::rules());
    rules.extend(crate::direction::rules());
    rules.extend(crate::role::rules());
    rules.extend(crate::merchant::rules());
    rules.extend(crate::category::rules());
    rules.extend(crate::account::rules());
    rules.extend(crate::engine::rules());
    rules.extend(crate::date::rules());
    rules
}

/// One keyword occurrence.
#[derive(Debug, Clone, Copy)]
struct Hit {
    start: u32,
    end: u32,
    id: u32,
}

/// Where the keywords of all rules occur in one lower-cased text.
#[derive(Debug)]
pub(crate) struct Hits {
    /// Every occurrence, in order of start.
    hits: Vec<Hit>,
    all: Bits,
    subject: Bits,
    body: Bits,
    subject_end: usize,
    body_start: usize,
    len: usize,
}

/// A set of keyword ids as its non-empty words: a rule's keywords were numbered together, so
/// they fill a few words of the whole id space.
#[derive(Debug)]
struct Sparse {
    words: Box<[(u32, u64)]>,
}

impl Sparse {
    fn from(bits: &Bits) -> Self {
        let words = bits.0.iter().enumerate().filter(|(_, w)| **w != 0).map(|(i, w)| (i as u32, *w));
        Self { words: words.collect() }
    }

    fn has(&self, id: u32) -> bool {
        let (word, bit) = (id / 64, id % 64);
        // `words` is in order of index.
        self.words.binary_search_by_key(&word, |(i, _)| *i).is_ok_and(|at| self.words[at].1 & (1 << bit) != 0)
    }
}

impl Hits {
    /// Indexes `lower`, whose subject ends at `subject_end` and body starts at `body_start`
    /// (both 0 for a text without a subject).
    pub fn new(lower: &str, subject_end: usize, body_start: usize) -> Self {
        let keywords = &*KEYWORDS;
        let mut index = Self {
            hits: Vec::with_capacity(64),
            all: Bits::default(),
            subject: Bits::default(),
            body: Bits::default(),
            subject_end,
            body_start,
            len: lower.len(),
        };
        let bytes = lower.as_bytes();
        let (three, four) = (&keywords.three, &keywords.four);
        let check = |index: &mut Self, at: usize, window: u32| {
            let (slot3, slot4) = (filter_slot(window & 0x00ff_ffff), filter_slot(window));
            if three.has(slot3) {
                index.record(three, slot3, bytes, at, window & 0x00ff_ffff, 3);
            }
            if four.has(slot4) {
                index.record(four, slot4, bytes, at, window, 4);
            }
        };
        for (at, w) in bytes.windows(4).enumerate() {
            check(&mut index, at, u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
        }
        // The last three positions, zero-padded: no keyword contains a zero byte, and every
        // candidate is compared with the text itself.
        for at in bytes.len().saturating_sub(3)..bytes.len() {
            let window = bytes[at..].iter().rev().fold(0, |key, b| key << 8 | u32::from(*b));
            check(&mut index, at, window);
        }
        index
    }

    /// Records the keywords whose anchor, `anchor_len` bytes, is `anchor` at `start`; its hash
    /// set the bit `slot` of `filter`.
    #[cold]
    fn record(
        &mut self,
        filter: &Filter,
        slot: usize,
        bytes: &[u8],
        start: usize,
        anchor: u32,
        anchor_len: usize,
    ) {
        let after = start + anchor_len;
        // Near the end the window was zero-padded: an anchor must lie inside the text.
        let Some(rest) = bytes.get(after..) else { return };
        for entry in filter.at(slot).iter().filter(|e| e.anchor == anchor) {
            if !filter.tail_matches(entry, rest) {
                continue;
            }
            let end = after + entry.tail_len as usize;
            self.all.set(entry.id);
            if end <= self.subject_end {
                self.subject.set(entry.id);
            }
            if start >= self.body_start {
                self.body.set(entry.id);
            }
            self.hits.push(Hit { start: start as u32, end: end as u32, id: entry.id });
        }
    }

    /// The keywords lying entirely inside `range`: a region's own set, or one gathered into
    /// `scratch` for a window (kept by the caller, so it is not copied out).
    pub fn within<'a>(&'a self, range: Range<usize>, scratch: &'a mut Option<Bits>) -> &'a Bits {
        if range.start == 0 && range.end >= self.len {
            return &self.all;
        }
        if range.start == 0 && range.end == self.subject_end {
            return &self.subject;
        }
        if range.start == self.body_start && range.end >= self.len {
            return &self.body;
        }
        let bits = scratch.insert(Bits::default());
        let first = self.hits.partition_point(|h| (h.start as usize) < range.start);
        for hit in self.hits[first..].iter().take_while(|h| (h.start as usize) < range.end) {
            if hit.end as usize <= range.end {
                bits.set(hit.id);
            }
        }
        bits
    }
}

/// The most literals a set may hold while sets are combined.
const SET_LIMIT: usize = 64;
/// The most literals the keywords of one alternation may hold.
const UNION_LIMIT: usize = 512;
/// The widest character class spelled out as literals.
const CLASS_LIMIT: u32 = 10;
/// Shorter keywords occur almost everywhere and would only slow the keyword pass.
const MIN_KEYWORD: usize = 3;
/// Beyond this length, a longer shortest keyword makes a set no more selective.
const SELECTIVE: usize = 8;

/// What is known about the strings a sub-pattern matches.
struct Lits {
    /// It matches exactly one of these strings (`""` included when it can match empty).
    exact: Option<Vec<Vec<u8>>>,
    /// Every match contains one of these (never `""`).
    factor: Option<Vec<Vec<u8>>>,
    /// Free of look-arounds (`\b`, `^`, `$`): a match does not depend on what surrounds it.
    plain: bool,
}

impl Lits {
    fn exact(set: Vec<Vec<u8>>) -> Self {
        let factor = non_empty(&set);
        Self { exact: Some(set), factor, plain: true }
    }

    fn unknown() -> Self {
        Self { exact: None, factor: None, plain: true }
    }
}

/// The branches of a pattern's top-level alternation (the pattern itself if it has none).
fn top_branches(hir: &Hir) -> Vec<&Hir> {
    match hir.kind() {
        HirKind::Capture(capture) => top_branches(&capture.sub),
        HirKind::Alternation(children) => children.iter().collect(),
        _ => vec![hir],
    }
}

/// A branch's keyword sets: the most selective set every match contains, and a second one from
/// another part of the branch when there is one; `None` if the branch has no usable set.
fn branch_sets(hir: &Hir) -> Option<Vec<Vec<Vec<u8>>>> {
    let candidates = match hir.kind() {
        HirKind::Capture(capture) => return branch_sets(&capture.sub),
        HirKind::Concat(children) => concat(children).candidates,
        _ => analyse(hir).factor.map(|set| (set, 0..1)).into_iter().collect(),
    };
    let usable: Vec<(Vec<Vec<u8>>, Range<usize>)> =
        candidates.into_iter().filter_map(|(set, span)| usable(set).map(|set| (set, span))).collect();
    let first = usable.iter().max_by_key(|(set, _)| quality(set))?;
    // A second set from other children of the branch; one from the same children would only
    // repeat the first.
    let second = usable
        .iter()
        .filter(|(_, span)| span.end <= first.1.start || span.start >= first.1.end)
        .max_by_key(|(set, _)| quality(set));
    Some(std::iter::once(first).chain(second).map(|(set, _)| set.clone()).collect())
}

/// A set minimised, if every literal is long enough to be a keyword.
fn usable(mut set: Vec<Vec<u8>>) -> Option<Vec<Vec<u8>>> {
    set.sort_by_key(Vec::len);
    // A keyword containing a shorter one adds nothing: the shorter one occurs whenever it does.
    let mut kept: Vec<Vec<u8>> = Vec::new();
    for lit in set {
        if !kept.iter().any(|k| contains(&lit, k)) {
            kept.push(lit);
        }
    }
    kept.iter().all(|k| k.len() >= MIN_KEYWORD).then_some(kept)
}

/// The sufficient keywords of a whole pattern: every string of a plain, finite branch.
fn sufficient(hir: &Hir) -> Vec<Vec<u8>> {
    match hir.kind() {
        HirKind::Capture(capture) => sufficient(&capture.sub),
        HirKind::Alternation(children) => dedup(children.iter().flat_map(sufficient).collect()),
        _ => {
            let lits = analyse(hir);
            let strings = lits.exact.filter(|_| lits.plain).unwrap_or_default();
            strings.into_iter().filter(|s| s.len() >= MIN_KEYWORD).collect()
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

fn analyse(hir: &Hir) -> Lits {
    match hir.kind() {
        HirKind::Empty => Lits::exact(vec![Vec::new()]),
        HirKind::Look(_) => Lits { plain: false, ..Lits::exact(vec![Vec::new()]) },
        HirKind::Literal(lit) => Lits::exact(vec![lit.0.to_vec()]),
        HirKind::Class(class) => class_literals(class).map_or_else(Lits::unknown, Lits::exact),
        HirKind::Capture(capture) => analyse(&capture.sub),
        HirKind::Repetition(rep) => {
            let sub = analyse(&rep.sub);
            if rep.min == 0 {
                // `x?` is `x` or nothing; `x*` has no bound to spell out.
                let exact = sub.exact.filter(|_| rep.max == Some(1)).map(|mut set| {
                    set.push(Vec::new());
                    dedup(set)
                });
                return Lits { exact, factor: None, plain: sub.plain };
            }
            // At least `min` copies in a row: their product is in every match.
            let power = sub.exact.as_ref().and_then(|set| power(set, rep.min));
            let exact = power.clone().filter(|_| rep.max == Some(rep.min));
            let factor = best([sub.factor, power.as_deref().and_then(non_empty)]);
            Lits { exact, factor, plain: sub.plain }
        }
        HirKind::Concat(children) => {
            let concat = concat(children);
            let factor = best(concat.candidates.into_iter().map(|(set, _)| Some(set)));
            Lits { exact: concat.exact, factor, plain: concat.plain }
        }
        HirKind::Alternation(children) => {
            let all: Vec<Lits> = children.iter().map(analyse).collect();
            let exact = union(all.iter().map(|l| l.exact.as_deref()), SET_LIMIT);
            let factor = union(all.iter().map(|l| l.factor.as_deref()), UNION_LIMIT);
            Lits { exact, factor, plain: all.iter().all(|l| l.plain) }
        }
    }
}

/// What a concatenation's children say together.
struct Concat {
    /// Its full set of matches, if small.
    exact: Option<Vec<Vec<u8>>>,
    plain: bool,
    /// Sets every match contains, each with the children it comes from.
    candidates: Vec<(Vec<Vec<u8>>, Range<usize>)>,
}

fn concat(children: &[Hir]) -> Concat {
    let mut candidates = Vec::new();
    let mut plain = true;
    let mut whole = Some(vec![Vec::new()]);
    // The product of the latest run of children with a finite set of matches, from `run_start`.
    let mut run = vec![Vec::new()];
    let mut run_start = 0;
    for (i, child) in children.iter().enumerate() {
        let lits = analyse(child);
        plain &= lits.plain;
        if let Some(set) = lits.factor {
            candidates.push((set, i..i + 1));
        }
        match lits.exact {
            Some(set) => {
                whole = whole.and_then(|w| product(&w, &set));
                match product(&run, &set) {
                    Some(p) => run = p,
                    None => {
                        candidates.extend(non_empty(&run).map(|r| (r, run_start..i)));
                        run = set;
                        run_start = i;
                    }
                }
            }
            None => {
                whole = None;
                candidates.extend(non_empty(&run).map(|r| (r, run_start..i)));
                run = vec![Vec::new()];
                run_start = i + 1;
            }
        }
    }
    candidates.extend(non_empty(&run).map(|r| (r, run_start..children.len())));
    Concat { exact: whole, plain, candidates }
}

/// Each character of a narrow class as a literal.
fn class_literals(class: &Class) -> Option<Vec<Vec<u8>>> {
    match class {
        Class::Unicode(class) => {
            let width: u32 =
                class.ranges().iter().map(|r| u32::from(r.end()) - u32::from(r.start()) + 1).sum();
            if width > CLASS_LIMIT {
                return None;
            }
            let chars = class.ranges().iter().flat_map(|r| r.start()..=r.end());
            Some(chars.map(|c| c.to_string().into_bytes()).collect())
        }
        Class::Bytes(class) => {
            let width: u32 =
                class.ranges().iter().map(|r| u32::from(r.end()) - u32::from(r.start()) + 1).sum();
            if width > CLASS_LIMIT {
                return None;
            }
            Some(class.ranges().iter().flat_map(|r| r.start()..=r.end()).map(|b| vec![b]).collect())
        }
    }
}

fn non_empty(set: &[Vec<u8>]) -> Option<Vec<Vec<u8>>> {
    (!set.iter().any(Vec::is_empty)).then(|| set.to_vec())
}

fn dedup(mut set: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    set.sort();
    set.dedup();
    set
}

/// Every `a` followed by every `b`, unless that makes too many.
fn product(a: &[Vec<u8>], b: &[Vec<u8>]) -> Option<Vec<Vec<u8>>> {
    if a.len() * b.len() > SET_LIMIT {
        return None;
    }
    let joined = a.iter().flat_map(|x| b.iter().map(move |y| [x.as_slice(), y.as_slice()].concat()));
    Some(dedup(joined.collect()))
}

fn power(set: &[Vec<u8>], n: u32) -> Option<Vec<Vec<u8>>> {
    let mut out = vec![Vec::new()];
    for _ in 0..n {
        out = product(&out, set)?;
    }
    Some(out)
}

/// All sets together, if every one is known and the total stays under `limit`.
fn union<'a>(sets: impl Iterator<Item = Option<&'a [Vec<u8>]>>, limit: usize) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for set in sets {
        out.extend_from_slice(set?);
        if out.len() > limit {
            return None;
        }
    }
    Some(dedup(out))
}

/// The most selective set.
fn best(candidates: impl IntoIterator<Item = Option<Vec<Vec<u8>>>>) -> Option<Vec<Vec<u8>>> {
    candidates.into_iter().flatten().max_by_key(|set| quality(set))
}

/// How selective a set is: the longer its shortest literal (up to a point: long words are all
/// rare), then the fewer its literals, the better.
fn quality(set: &[Vec<u8>]) -> (usize, std::cmp::Reverse<usize>) {
    let shortest = set.iter().map(Vec::len).min().unwrap_or(0).min(SELECTIVE);
    (shortest, std::cmp::Reverse(set.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keyword sets of each branch that has them, as strings, sorted.
    fn sets_of(pattern: &str) -> Vec<Vec<Vec<String>>> {
        let hir = regex_syntax::parse(&crate::text::ascii_pattern(pattern)).expect("pattern");
        top_branches(&hir)
            .into_iter()
            .filter_map(branch_sets)
            .map(|sets| {
                sets.into_iter()
                    .map(|set| {
                        let mut set: Vec<String> =
                            set.into_iter().map(|k| String::from_utf8_lossy(&k).into_owned()).collect();
                        set.sort();
                        set
                    })
                    .collect()
            })
            .collect()
    }

    fn strings(list: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = list.iter().map(|s| (*s).to_owned()).collect();
        v.sort();
        v
    }

    #[test]
    fn keywords_are_in_every_match() {
        assert_eq!(sets_of(r"\bspent\b"), vec![vec![strings(&["spent"])]]);
        assert_eq!(
            sets_of(r"you('ve| have)? (paid|sent)"),
            vec![vec![strings(&[
                "you paid",
                "you sent",
                "you have paid",
                "you have sent",
                "you've paid",
                "you've sent"
            ])]]
        );
        // The rarest-looking part first (one long literal), then another part of the branch.
        assert_eq!(
            sets_of(r"c[óo]digo (de )?seguridad"),
            vec![vec![strings(&["seguridad"]), strings(&["digo "])]]
        );
        // Two parts of a branch, each necessary: both sets must be there.
        assert_eq!(
            sets_of(r"(payment|transfer)[^.\n]{0,30}(refused|rejected)"),
            vec![vec![strings(&["refused", "rejected"]), strings(&["payment", "transfer"])]]
        );
        assert_eq!(
            sets_of(r"[x*]{3,}\d{4}"),
            vec![vec![strings(&["***", "**x", "*x*", "*xx", "x**", "x*x", "xx*", "xxx"])]]
        );
        assert_eq!(sets_of(r"(abc)?def"), vec![vec![strings(&["def"])]]);
        // Branches without a set long enough to be selective are left to run as they are.
        assert!(sets_of(r"\d{4}|[a-z]+").is_empty());
        assert_eq!(sets_of(r"of\s*$|\bcr\b|credited"), vec![vec![strings(&["credited"])]]);
    }

    #[test]
    fn a_rule_is_settled_only_where_its_keywords_are() {
        // A registered rule, so its keywords are indexed: `refund|reversal|…` (direction).
        let rule = &*crate::direction::REFUND;
        let doc = Doc::new("Refund issued", "", "Your card was used.\nA refund of $5 was posted");
        assert!(rule.may_match(&doc, doc.subject()));
        assert!(rule.is_match(&doc, doc.all()));
        let used = doc.lower.find("was used").expect("used");
        assert!(!rule.may_match(&doc, used..used + 8));
        let refund = doc.lower.rfind("refund").expect("refund");
        assert!(rule.is_match(&doc, refund..doc.lower.len()));
        // A keyword cut by the end of the range is not in it.
        assert!(!rule.may_match(&doc, refund..refund + 4));
    }

    #[test]
    fn every_rule_is_numbered() {
        for rule in every_rule() {
            if !rule.sets_per_branch.is_empty() {
                assert!(rule.guard().is_some(), "{}", rule.regex().as_str());
            }
        }
    }
}

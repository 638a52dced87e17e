//! Locale cues: the language an email is written in and what the sender's clock says, used to
//! resolve `$`, `kr` and `¥`, and day-month against month-day dates.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::LazyLock;

/// A language the rules know words of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    En,
    Es,
    Pt,
    Fr,
    De,
    Nl,
    It,
    Ja,
    Hi,
    Sv,
    No,
    Da,
    Zh,
}

/// Common function words per language; counting them is enough to tell the languages of alert
/// mail apart.
const STOPWORDS: &[(Lang, &[&str])] = &[
    (
        Lang::En,
        &["the", "your", "you", "has", "been", "with", "and", "was", "to", "of", "for", "on", "at", "is"],
    ),
    (Lang::Es, &["el", "la", "tu", "su", "de", "con", "una", "por", "que", "se", "ha", "los", "del", "en"]),
    (
        Lang::Pt,
        &["o", "a", "seu", "sua", "de", "com", "uma", "foi", "no", "na", "em", "não", "você", "do", "da"],
    ),
    (
        Lang::Fr,
        &["le", "la", "les", "votre", "vous", "de", "des", "avec", "une", "un", "été", "est", "du", "par"],
    ),
    (
        Lang::De,
        &[
            "der", "die", "das", "ihr", "ihre", "mit", "und", "wurde", "sie", "ist", "von", "auf", "den",
            "dein",
        ],
    ),
    (Lang::Nl, &["de", "het", "je", "uw", "van", "een", "met", "is", "op", "naar", "er", "bij", "aan"]),
    (Lang::It, &["il", "la", "tua", "di", "con", "un", "una", "è", "stato", "per", "del", "della", "ti"]),
    (Lang::Sv, &["och", "ditt", "din", "med", "har", "av", "för", "till", "kortet", "köp"]),
    (Lang::No, &["og", "ditt", "din", "med", "har", "av", "for", "til", "kortet", "kjøp"]),
    (Lang::Da, &["og", "dit", "din", "med", "har", "af", "for", "til", "kortet", "køb"]),
    (
        Lang::Hi,
        &["aapke", "aapka", "khaate", "se", "hai", "hain", "kiya", "gaye", "dwara", "ko", "mein", "par"],
    ),
];

/// Each stop word, packed into a `u64` (all are at most 7 bytes), with the languages (bits, in
/// `STOPWORDS` order) it belongs to.
static WORD_LANGS: LazyLock<HashMap<u64, u16, BuildHasherDefault<WordHasher>>> = LazyLock::new(|| {
    let mut map = HashMap::default();
    for (i, (_, words)) in STOPWORDS.iter().enumerate() {
        for key in words.iter().filter_map(|word| pack(word)) {
            *map.entry(key).or_insert(0) |= 1 << i;
        }
    }
    map
});

// The languages of a word are bits of a `u16`.
const _: () = assert!(STOPWORDS.len() <= 16);

/// Hashes a packed word with one multiplication: SipHash, the default, cost more than the rest
/// of language detection, and the keys are not chosen by an attacker.
#[derive(Default)]
struct WordHasher(u64);

impl Hasher for WordHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u64(&mut self, key: u64) {
        self.0 = (key ^ (key >> 29)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// A word of up to 7 bytes as one integer, its length in the top byte so `a` and `a\0` differ.
fn pack(word: &str) -> Option<u64> {
    let bytes = word.as_bytes();
    if bytes.is_empty() || bytes.len() > 7 {
        return None;
    }
    let mut packed = [0u8; 8];
    packed[..bytes.len()].copy_from_slice(bytes);
    Some(u64::from_le_bytes(packed) | (bytes.len() as u64) << 56)
}

/// Calls `f` with each maximal run of alphanumeric characters, as `split(|c| !c.is_alphanumeric())`
/// gives them (without the empty ones). The text is read in blocks of up to 64 bytes, each turned
/// into a bit mask, so finding where words start and end costs a few instructions per word
/// rather than an unpredictable branch per byte.
fn for_each_word<'t>(text: &'t str, mut f: impl FnMut(&'t str)) {
    let bytes = text.as_bytes();
    let mut word_start: Option<usize> = None;
    let mut at = 0;
    while at < bytes.len() {
        let end = (at + 64).min(bytes.len());
        let mut mask = 0u64;
        let mut i = at;
        while i < end {
            let b = bytes[i];
            if b.is_ascii() {
                mask |= u64::from(b.is_ascii_alphanumeric()) << (i - at);
                i += 1;
                continue;
            }
            let Some(c) = text[i..].chars().next() else { break };
            let len = c.len_utf8();
            if i + len > end {
                // The character continues past the block: it starts the next one.
                break;
            }
            if c.is_alphanumeric() {
                mask |= ((1u64 << len) - 1) << (i - at);
            }
            i += len;
        }
        let width = i - at;
        let inside = if width == 64 { u64::MAX } else { (1u64 << width) - 1 };
        let mut pos = 0;
        while pos < width {
            match word_start {
                Some(from) => {
                    let gaps = (!mask & inside) >> pos;
                    if gaps == 0 {
                        break;
                    }
                    let gap = pos + gaps.trailing_zeros() as usize;
                    f(&text[from..at + gap]);
                    word_start = None;
                    pos = gap;
                }
                None => {
                    let letters = mask >> pos;
                    if letters == 0 {
                        break;
                    }
                    let first = pos + letters.trailing_zeros() as usize;
                    word_start = Some(at + first);
                    pos = first;
                }
            }
        }
        at = i;
    }
    if let Some(from) = word_start {
        f(&text[from..]);
    }
}

/// How many kana, Han and Devanagari characters `text` has. All are three-byte UTF-8 sequences
/// whose first two bytes tell them apart, so no character is decoded.
fn scripts(text: &str) -> (usize, usize, usize) {
    let (mut kana, mut han, mut devanagari) = (0, 0, 0);
    let bytes = text.as_bytes();
    for (i, &lead) in bytes.iter().enumerate() {
        // Every byte of other text is below E0 or above E9: one predictable test skips it.
        if !(0xe0..=0xe9).contains(&lead) {
            continue;
        }
        let Some(&next) = bytes.get(i + 1) else { break };
        match (lead, next) {
            // U+3040..=U+30FF: E3 81 80 ..= E3 83 BF.
            (0xe3, 0x81..=0x83) => kana += 1,
            // U+4E00..=U+9FFF: E4 B8 80 ..= E9 BF BF.
            (0xe4, 0xb8..=0xbf) | (0xe5..=0xe9, _) => han += 1,
            // U+0900..=U+097F: E0 A4 80 ..= E0 A5 BF.
            (0xe0, 0xa4..=0xa5) => devanagari += 1,
            _ => {}
        }
    }
    (kana, han, devanagari)
}

/// The language with the most function words; kana or Devanagari script settles it at once.
pub(crate) fn detect(lower: &str) -> Lang {
    // Plain ASCII text has no kana, Han or Devanagari to count.
    if !lower.is_ascii() {
        let (kana, han, devanagari) = scripts(lower);
        if kana > 3 {
            return Lang::Ja;
        }
        if han > 10 {
            return Lang::Zh;
        }
        if devanagari > 10 {
            return Lang::Hi;
        }
    }
    let mut scores = [0usize; STOPWORDS.len()];
    let table = &*WORD_LANGS;
    for_each_word(lower, |word| {
        if let Some(langs) = pack(word).and_then(|key| table.get(&key)) {
            for (i, score) in scores.iter_mut().enumerate() {
                *score += usize::from(langs & (1 << i) != 0);
            }
        }
    });
    let mut best = (Lang::En, 0usize);
    for (i, (lang, _)) in STOPWORDS.iter().enumerate() {
        if scores[i] > best.1 {
            best = (*lang, scores[i]);
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stop_word_is_looked_up() {
        for (_, words) in STOPWORDS {
            for word in *words {
                let expected = STOPWORDS
                    .iter()
                    .enumerate()
                    .filter(|(_, (_, list))| list.contains(word))
                    .fold(0, |bits, (i, _)| bits | 1 << i);
                assert_eq!(
                    pack(word).and_then(|key| WORD_LANGS.get(&key)).copied(),
                    Some(expected),
                    "{word}"
                );
            }
        }
        assert_eq!(pack("zzz").and_then(|key| WORD_LANGS.get(&key)), None);
    }

    fn words(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        for_each_word(text, |w| out.push(w));
        out
    }

    fn split(text: &str) -> Vec<&str> {
        text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect()
    }

    #[test]
    fn words_split_like_the_standard_library() {
        let long = format!("{}é{}€ ab", "word ".repeat(13), "x".repeat(70));
        for text in
            ["", "a", " a b  c ", "über-straße: 12,50€ déjà", "日本語 テキスト", "x\u{0301}y", "end.", &long]
        {
            assert_eq!(words(text), split(text), "{text}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_text_splits_like_the_standard_library(text in "(\\PC|[ a-z0-9.,€é日]){0,200}") {
            proptest::prop_assert_eq!(words(&text), split(&text));
        }
    }

    #[test]
    fn scripts_are_counted_like_characters() {
        let by_chars = |text: &str| {
            let count =
                |range: std::ops::RangeInclusive<char>| text.chars().filter(|c| range.contains(c)).count();
            (count('\u{3040}'..='\u{30ff}'), count('\u{4e00}'..='\u{9fff}'), count('\u{0900}'..='\u{097f}'))
        };
        for c in [
            '\u{303f}', '\u{3040}', '\u{30ff}', '\u{3100}', '\u{4dff}', '\u{4e00}', '\u{9fff}', '\u{a000}',
            '\u{08ff}', '\u{0900}', '\u{097f}', '\u{0980}', 'é', '€', '₹',
        ] {
            let text = format!("a{c}b{c}{c}");
            assert_eq!(scripts(&text), by_chars(&text), "{c:?}");
        }
    }

    #[test]
    fn languages_are_told_apart() {
        let cases = [
            ("your card was charged for the order at the store", Lang::En),
            ("se ha realizado una compra con tu tarjeta de débito en el comercio", Lang::Es),
            ("uma compra foi aprovada no seu cartão de crédito, você", Lang::Pt),
            ("un paiement a été effectué avec votre carte par le commerçant", Lang::Fr),
            ("ihr konto wurde mit der folgenden zahlung belastet und die karte", Lang::De),
            ("je hebt met je pas een betaling gedaan bij de winkel van het", Lang::Nl),
            ("è stato effettuato un pagamento con la tua carta di debito per il", Lang::It),
            ("aapke khaate se ₹349 debit kiye gaye hain", Lang::Hi),
            ("カードのご利用がありましたのでお知らせします", Lang::Ja),
            ("ett köp har gjorts med ditt kort och beloppet", Lang::Sv),
        ];
        for (text, lang) in cases {
            assert_eq!(detect(text), lang, "{text}");
        }
    }
}

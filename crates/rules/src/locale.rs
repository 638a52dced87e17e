//! Locale cues: the language an email is written in and what the sender's clock says, used to
//! resolve `$`, `kr` and `¥`, and day-month against month-day dates.

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

/// Each stop word with the languages (bits, in `STOPWORDS` order) it belongs to.
static WORD_LANGS: std::sync::LazyLock<std::collections::HashMap<&'static str, u32>> =
    std::sync::LazyLock::new(|| {
        let mut map = std::collections::HashMap::new();
        for (i, (_, words)) in STOPWORDS.iter().enumerate() {
            for word in *words {
                *map.entry(*word).or_insert(0) |= 1 << i;
            }
        }
        map
    });

/// The language with the most function words; kana or Devanagari script settles it at once.
pub(crate) fn detect(lower: &str) -> Lang {
    let mut kana = 0usize;
    let mut han = 0usize;
    let mut devanagari = 0usize;
    for c in lower.chars() {
        match c {
            '\u{3040}'..='\u{30ff}' => kana += 1,
            '\u{4e00}'..='\u{9fff}' => han += 1,
            '\u{0900}'..='\u{097f}' => devanagari += 1,
            _ => {}
        }
    }
    if kana > 3 {
        return Lang::Ja;
    }
    if han > 10 {
        return Lang::Zh;
    }
    if devanagari > 10 {
        return Lang::Hi;
    }
    let mut scores = [0usize; STOPWORDS.len()];
    for word in lower.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty() && w.len() <= 7) {
        if let Some(langs) = WORD_LANGS.get(word) {
            for (i, score) in scores.iter_mut().enumerate() {
                *score += usize::from(langs & (1 << i) != 0);
            }
        }
    }
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

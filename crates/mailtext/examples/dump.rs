//! Prints the decoded fields of each .eml given on the command line, to see what the engine reads.

fn main() {
    for path in std::env::args().skip(1) {
        let raw = match std::fs::read(&path) {
            Ok(raw) => raw,
            Err(e) => {
                eprintln!("{path}: {e}");
                continue;
            }
        };
        match penny_mailtext::parse_message(&raw) {
            Ok(m) => println!(
                "=== {path}\nSubject: {}\nFrom: {}\nDate: {:?}\nhtml_only: {}\n---\n{}\n",
                m.subject, m.from, m.date_local, m.html_only, m.text
            ),
            Err(e) => println!("=== {path}: {e}"),
        }
    }
}

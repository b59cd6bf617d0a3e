//! CSV for spreadsheets (RFC 4180: comma separated, CRLF line ends, fields with commas, quotes
//! or line breaks quoted). Written here, not with a crate: it is twenty lines, and one rule a
//! CSV crate does not apply matters — a cell a customer typed that starts with `=`, `+`, `-`,
//! `@`, tab or CR is prefixed with `'` so a spreadsheet never runs it as a formula (OWASP).

/// A CSV document being written, header first.
pub struct CsvTable {
    text: String,
}

impl CsvTable {
    pub fn new(header: &[&str]) -> Self {
        let mut table = CsvTable {
            text: String::new(),
        };
        let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
        table.row(&header);
        table
    }

    pub fn row(&mut self, cells: &[String]) {
        let line: Vec<String> = cells.iter().map(|c| cell(c)).collect();
        self.text.push_str(&line.join(","));
        self.text.push_str("\r\n");
    }

    pub fn finish(self) -> String {
        self.text
    }
}

fn looks_like_a_number(text: &str) -> bool {
    !text.is_empty() && text.parse::<f64>().is_ok() && !text.starts_with('+')
}

/// One field, defused and quoted as needed.
pub fn cell(text: &str) -> String {
    let risky = text.starts_with(['=', '+', '-', '@', '\t', '\r']) && !looks_like_a_number(text);
    let text = if risky {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_when_needed() {
        assert_eq!(cell("tent"), "tent");
        assert_eq!(cell("tent, 2 person"), "\"tent, 2 person\"");
        assert_eq!(cell("the \"big\" one"), "\"the \"\"big\"\" one\"");
        assert_eq!(cell("two\nlines"), "\"two\nlines\"");
    }

    #[test]
    fn formulas_are_defused_but_numbers_are_not() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("+cmd"), "'+cmd");
        assert_eq!(cell("-12.50"), "-12.50");
        assert_eq!(cell("12.50"), "12.50");
    }

    #[test]
    fn a_table_has_crlf_lines() {
        let mut table = CsvTable::new(&["a", "b"]);
        table.row(&["1".into(), "x,y".into()]);
        assert_eq!(table.finish(), "a,b\r\n1,\"x,y\"\r\n");
    }
}

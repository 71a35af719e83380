//! Reading an uploaded spreadsheet row by row: XLSX (the first worksheet, streamed cell by
//! cell), or CSV in UTF-8 or GBK (GB 18030, its superset, which is what Chinese Excel
//! saves "CSV" as). Rows are handed to a visitor one at a time, so nothing but the file
//! itself and the current row is held, however long the roster.
//!
//! Row numbers are the spreadsheet's: the header is row 1, the first data row is row 2, so
//! the number an organiser is told is the one their spreadsheet shows.

use std::borrow::Cow;
use std::io::Cursor;

use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::{CoreError, ErrorCode};

/// How the bytes of a CSV file are to be read (XLSX files carry their own encoding).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SheetEncoding {
    /// UTF-8 when the bytes are valid UTF-8 (with or without a byte-order mark), GBK
    /// otherwise.
    #[default]
    Auto,
    /// UTF-8 only.
    #[serde(rename = "utf-8", alias = "utf8")]
    Utf8,
    /// GBK (read as GB 18030, its superset) only.
    Gbk,
}

fn encoding_error(detail: &str) -> CoreError {
    CoreError::refused(ErrorCode::RosterEncoding, detail)
}

fn format_error(detail: impl Into<String>) -> CoreError {
    CoreError::refused(ErrorCode::RosterFormat, detail)
}

/// Calls `each` with every row, the header first, with its spreadsheet row number. Blank
/// rows are skipped (their numbers are not reused). Stops at the first error `each` gives.
pub fn read_rows(
    bytes: &[u8],
    encoding: SheetEncoding,
    mut each: impl FnMut(u32, Vec<String>) -> Result<(), CoreError>,
) -> Result<(), CoreError> {
    if bytes.is_empty() {
        return Err(format_error("文件是空的"));
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return read_xlsx(bytes, &mut each);
    }
    let text = decode(bytes, encoding)?;
    read_csv(&text, &mut each)
}

/// The text of a CSV file, or `roster_encoding` when its bytes are not what was asked for.
pub fn decode(bytes: &[u8], encoding: SheetEncoding) -> Result<Cow<'_, str>, CoreError> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(encoding_error("文件为 UTF-16 编码；请另存为 UTF-8 或 GBK 编码的 CSV，或 XLSX"));
    }
    let utf8 = || {
        let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        std::str::from_utf8(body).ok().map(Cow::Borrowed)
    };
    let gbk = || encoding_rs::GB18030.decode_without_bom_handling_and_without_replacement(bytes);
    let text = match encoding {
        SheetEncoding::Utf8 => utf8()
            .ok_or_else(|| encoding_error("文件不是 UTF-8 编码；如为 GBK（Excel 默认的“CSV”）编码，请选择 GBK"))?,
        SheetEncoding::Gbk => {
            gbk().ok_or_else(|| encoding_error("文件不是 GBK 编码；如为 UTF-8 编码，请选择 UTF-8"))?
        }
        SheetEncoding::Auto => utf8()
            .or_else(gbk)
            .ok_or_else(|| encoding_error("无法识别文件编码：请另存为 UTF-8 或 GBK 编码的 CSV，或 XLSX"))?,
    };
    // Text with NUL characters is UTF-16 without its mark, or not text at all.
    if text.contains('\0') {
        return Err(encoding_error("文件含有空字符，不是 UTF-8 或 GBK 编码的 CSV"));
    }
    Ok(text)
}

/// RFC 4180: comma-separated, fields optionally in double quotes (a doubled quote inside
/// is one quote, and quoted fields may hold commas and line breaks), CRLF or LF.
fn read_csv(text: &str, each: &mut impl FnMut(u32, Vec<String>) -> Result<(), CoreError>) -> Result<(), CoreError> {
    let mut row_number = 0u32;
    let mut fields: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    let mut any = false;
    let mut finish_row = |fields: &mut Vec<String>, row_number: &mut u32| -> Result<(), CoreError> {
        *row_number += 1;
        let row = std::mem::take(fields);
        if row.iter().all(|f| f.trim().is_empty()) {
            return Ok(());
        }
        each(*row_number, row)
    };
    while let Some(c) = chars.next() {
        any = true;
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => quoted = true,
            ',' => fields.push(std::mem::take(&mut field)),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => {
                fields.push(std::mem::take(&mut field));
                finish_row(&mut fields, &mut row_number)?;
                any = false;
            }
            _ => field.push(c),
        }
    }
    if quoted {
        return Err(format_error("CSV 文件末尾有未闭合的引号"));
    }
    if any {
        fields.push(field);
        finish_row(&mut fields, &mut row_number)?;
    }
    Ok(())
}

/// The first worksheet, cell by cell (calamine's streaming reader: the sheet is never
/// held whole; only the shared-strings table is).
fn read_xlsx(bytes: &[u8], each: &mut impl FnMut(u32, Vec<String>) -> Result<(), CoreError>) -> Result<(), CoreError> {
    use calamine::{Reader, Xlsx};
    let bad = |e: calamine::XlsxError| format_error(format!("无法读取 XLSX 文件：{e}"));
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(bad)?;
    let first = workbook.sheet_names().first().cloned().ok_or_else(|| format_error("XLSX 文件没有工作表"))?;
    let mut cells = workbook.worksheet_cells_reader(&first).map_err(bad)?;
    let mut current: Option<(u32, Vec<String>)> = None;
    while let Some(cell) = cells.next_cell().map_err(bad)? {
        let (row, col) = cell.get_position();
        let text = cell_text(cell.get_value());
        if current.as_ref().is_some_and(|(r, _)| *r != row)
            && let Some((r, values)) = current.take()
        {
            emit(r, values, each)?;
        }
        let (_, values) = current.get_or_insert_with(|| (row, Vec::new()));
        let col = col as usize;
        if col > 200 {
            continue;
        }
        if values.len() <= col {
            values.resize(col + 1, String::new());
        }
        values[col] = text;
    }
    if let Some((r, values)) = current.take() {
        emit(r, values, each)?;
    }
    Ok(())
}

fn emit(
    row: u32,
    values: Vec<String>,
    each: &mut impl FnMut(u32, Vec<String>) -> Result<(), CoreError>,
) -> Result<(), CoreError> {
    if values.iter().all(|v| v.trim().is_empty()) {
        return Ok(());
    }
    each(row + 1, values)
}

/// A cell as the text an organiser sees. Numbers typed into a general cell (a phone
/// number, a 15-digit ID) come back as floats: whole ones are written without a decimal
/// point. An 18-digit ID number typed as a number has already lost its last digits in
/// Excel; its check character then fails, which is the right answer.
fn cell_text(value: &calamine::DataRef<'_>) -> String {
    use calamine::{DataRef, DataType};
    match value {
        DataRef::String(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_owned(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
        DataRef::Float(f) => f.to_string(),
        DataRef::Bool(true) => "是".to_owned(),
        DataRef::Bool(false) => "否".to_owned(),
        DataRef::Empty => String::new(),
        other => other.as_string().unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(bytes: &[u8], encoding: SheetEncoding) -> Result<Vec<(u32, Vec<String>)>, CoreError> {
        let mut out = Vec::new();
        read_rows(bytes, encoding, |n, r| {
            out.push((n, r));
            Ok(())
        })?;
        Ok(out)
    }

    #[test]
    fn csv_quotes_commas_line_breaks_and_blank_rows() {
        let text = "姓名,备注\r\n\"张,三\",\"一\"\"二\"\"\n三\"\r\n\r\n李四,\n";
        let got = rows(text.as_bytes(), SheetEncoding::Auto).expect("reads");
        assert_eq!(got.len(), 3);
        assert_eq!(got[1], (2, vec!["张,三".to_owned(), "一\"二\"\n三".to_owned()]));
        assert_eq!(got[2], (4, vec!["李四".to_owned(), String::new()]));
    }

    #[test]
    fn gbk_is_read_when_asked_or_guessed_and_refused_as_utf8() {
        let (gbk, _, _) = encoding_rs::GBK.encode("姓名,证件号码\n张三,1\n");
        assert_eq!(rows(&gbk, SheetEncoding::Gbk).expect("gbk")[0].1[0], "姓名");
        assert_eq!(rows(&gbk, SheetEncoding::Auto).expect("auto")[1].1[0], "张三");
        let refused = rows(&gbk, SheetEncoding::Utf8).expect_err("not utf-8");
        assert_eq!(refused.error_code(), ErrorCode::RosterEncoding);
    }

    #[test]
    fn utf16_and_nul_bytes_are_the_wrong_encoding() {
        for bytes in [&b"\xFF\xFEa\0b\0"[..], &b"a\0,b\0\n"[..]] {
            assert_eq!(rows(bytes, SheetEncoding::Auto).expect_err("refused").error_code(), ErrorCode::RosterEncoding);
        }
    }

    #[test]
    fn a_utf8_bom_is_dropped() {
        let got = rows("\u{feff}姓名\n张三\n".as_bytes(), SheetEncoding::Utf8).expect("reads");
        assert_eq!(got[0].1, vec!["姓名".to_owned()]);
    }
}

package io.modelway.app;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.List;

/**
 * A table for the terminal: each column as wide as its widest cell, numbers right-aligned, two
 * spaces between columns. Width counts terminal cells, so Chinese, Japanese and Korean text
 * (two cells a character) lines up too. Not thread-safe.
 */
final class Table {
  private final List<String> headers;
  private final boolean[] right;
  private final List<List<String>> rows = new ArrayList<>();

  /** A table with these column headers; a header ending in {@code >} is right-aligned. */
  Table(String... headers) {
    this.headers = new ArrayList<>();
    this.right = new boolean[headers.length];
    for (int i = 0; i < headers.length; i++) {
      right[i] = headers[i].endsWith(">");
      this.headers.add(right[i] ? headers[i].substring(0, headers[i].length() - 1) : headers[i]);
    }
  }

  /** Adds a row; a null cell prints as {@code -}. */
  Table row(Object... cells) {
    if (cells.length != headers.size()) {
      throw new IllegalArgumentException("cells: " + cells.length + " (expected: "
          + headers.size() + ")");
    }
    List<String> row = new ArrayList<>(cells.length);
    for (Object cell : cells) {
      row.add(cell == null ? "-" : cell.toString());
    }
    rows.add(row);
    return this;
  }

  boolean isEmpty() {
    return rows.isEmpty();
  }

  @Override
  public String toString() {
    int[] widths = new int[headers.size()];
    for (List<String> row : withHeader()) {
      for (int i = 0; i < row.size(); i++) {
        widths[i] = Math.max(widths[i], width(row.get(i)));
      }
    }
    StringBuilder out = new StringBuilder();
    for (List<String> row : withHeader()) {
      StringBuilder line = new StringBuilder();
      for (int i = 0; i < row.size(); i++) {
        String cell = row.get(i);
        String pad = " ".repeat(widths[i] - width(cell));
        if (i > 0) {
          line.append("  ");
        }
        line.append(right[i] ? pad + cell : cell + (i == row.size() - 1 ? "" : pad));
      }
      out.append(line.toString().stripTrailing()).append('\n');
    }
    return out.toString().stripTrailing();
  }

  private List<List<String>> withHeader() {
    List<List<String>> all = new ArrayList<>(rows.size() + 1);
    all.add(headers);
    all.addAll(rows);
    return all;
  }

  /** The terminal cells {@code text} takes: two for each wide East Asian character. */
  static int width(String text) {
    requireNonNull(text, "text");
    return text.codePoints().map(c -> wide(c) ? 2 : 1).sum();
  }

  private static boolean wide(int c) {
    return (c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0xA4CF && c != 0x303F)
        || (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0xF900 && c <= 0xFAFF)
        || (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0xFF00 && c <= 0xFF60)
        || (c >= 0xFFE0 && c <= 0xFFE6) || (c >= 0x1F300 && c <= 0x1FAFF)
        || (c >= 0x20000 && c <= 0x3FFFD);
  }
}

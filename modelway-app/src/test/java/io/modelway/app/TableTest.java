package io.modelway.app;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class TableTest {
  @Test
  void columnsAreAsWideAsTheirWidestCellAndNumbersAlignRight() {
    String table = new Table("MODEL", "COST>").row("chat", "0.5 USD").row("deepseek/chat", 12)
        .row("none", null).toString();
    assertThat(table).isEqualTo("""
        MODEL             COST
        chat           0.5 USD
        deepseek/chat       12
        none                 -""");
  }

  @Test
  void chineseTextTakesTwoCellsACharacter() {
    assertThat(Table.width("通义千问")).isEqualTo(8);
    String table = new Table("NAME", "PLAN").row("阿里云", "pro").row("acme", "free").toString();
    assertThat(table.lines().map(l -> Table.width(l.substring(0, l.lastIndexOf(' ') + 1))))
        .containsOnly(8);
  }
}

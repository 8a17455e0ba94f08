package io.modelway.app;

import java.time.Duration;
import org.springframework.boot.convert.DurationStyle;
import picocli.CommandLine.TypeConversionException;

/** Option value converters: durations read as in the config file ({@code 500ms}, {@code 5s}). */
final class Converters {
  private Converters() {}

  static Duration duration(String value) {
    try {
      return DurationStyle.detectAndParse(value);
    } catch (IllegalArgumentException e) {
      throw new TypeConversionException(
          "'" + value + "' is not a duration (expected: such as 500ms, 5s, 2m)");
    }
  }
}

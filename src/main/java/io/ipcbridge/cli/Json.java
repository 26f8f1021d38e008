package io.ipcbridge.cli;

import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The {@code --json} output of {@code info} and {@code ls} (CLI.md): one object or one array of
 * objects on one line, kebab-case keys in the order given, modes as octal strings ({@link #mode}).
 * Values are strings, numbers (a NaN or infinite double as null), booleans, null, maps (objects) or
 * lists (arrays).
 */
final class Json {
    private Json() {
    }

    /** {@code fields} as one JSON object. */
    static String object(Map<String, ?> fields) {
        return value(fields);
    }

    /** {@code objects} as one JSON array of objects. */
    static String array(List<? extends Map<String, ?>> objects) {
        return objects.stream().map(Json::object).collect(Collectors.joining(",", "[", "]"));
    }

    /** Permission bits as CLI.md writes them everywhere: "0600". */
    static String mode(int bits) {
        return String.format("%04o", bits & 07777);
    }

    private static String value(Object v) {
        if (v == null || v instanceof Double d && !Double.isFinite(d)) {
            return "null";
        }
        if (v instanceof Map<?, ?> m) {
            return m.entrySet().stream().map(e -> string(e.getKey().toString()) + ":" + value(e.getValue()))
                    .collect(Collectors.joining(",", "{", "}"));
        }
        if (v instanceof List<?> l) {
            return l.stream().map(Json::value).collect(Collectors.joining(",", "[", "]"));
        }
        if (v instanceof Number || v instanceof Boolean) {
            return v.toString();
        }
        return string(v.toString());
    }

    private static String string(String s) {
        StringBuilder b = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }
}

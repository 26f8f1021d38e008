package io.ipcbridge.cli;

import io.ipcbridge.bench.Pair;
import io.ipcbridge.bench.Result;
import io.ipcbridge.bench.Workload;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/**
 * The chart of {@code ipcbridge bench --plot}: one panel per workload, a group of bars per
 * mechanism, one colour per pair; latency (median round trip) on a log scale, throughput on a linear
 * one. Drawn once through {@link Canvas}, as SVG written by hand or as PNG through java.awt in
 * headless mode. Each SVG bar is a {@code rect} of class {@code bar} with its mechanism, workload and
 * pair as data attributes.
 */
final class BenchChart {
    private static final int WIDTH = 1100;
    private static final int PANEL = 380;
    private static final int LEFT = 80;
    private static final int RIGHT = 20;
    private static final int TOP = 70;
    private static final int AXIS_LABELS = 40;
    private static final String[] COLOURS = {"#222222", "#1f77b4", "#2ca02c", "#ff7f0e", "#d62728", "#9467bd",
        "#8c564b"};

    private BenchChart() {
    }

    /** The drawing operations the chart needs, in SVG user units (pixels). */
    interface Canvas {
        /** A filled rectangle; {@code bar} is null for decoration, else the result it shows. */
        void rect(double x, double y, double w, double h, String colour, Result bar);

        /** A thin grey line. */
        void line(double x1, double y1, double x2, double y2);

        /** Text at a baseline point; anchor "start", "middle" or "end". */
        void text(double x, double y, String text, int size, String anchor);
    }

    /** Writes the chart to {@code file}: PNG if its name ends in .png, else SVG. */
    static void write(List<Result> results, Path file) throws IOException {
        if (file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".png")) {
            Files.write(file, png(results));
        } else {
            Files.writeString(file, svg(results), StandardCharsets.UTF_8);
        }
    }

    private static int height(List<Result> results) {
        int panels = (int) List.of(Workload.values()).stream().filter(w -> !BenchReport.pairs(results, w).isEmpty())
                .count();
        return TOP + panels * (PANEL + AXIS_LABELS + 30);
    }

    /** The chart as an SVG document. */
    static String svg(List<Result> results) {
        StringBuilder b = new StringBuilder();
        int h = height(results);
        b.append(String.format(Locale.ROOT, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>%n<svg xmlns=\"http://www.w3.org/"
                + "2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">%n"
                + "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>%n", WIDTH, h, WIDTH, h));
        draw(results, new Canvas() {
            @Override
            public void rect(double x, double y, double w, double hh, String colour, Result bar) {
                if (bar == null) {
                    b.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\""
                            + " fill=\"%s\"/>%n", x, y, w, hh, colour));
                } else {
                    b.append(String.format(Locale.ROOT, "<rect class=\"bar\" data-mechanism=\"%s\" data-workload=\"%s\""
                            + " data-pair=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\">"
                            + "<title>%s %s %s: %.4g %s</title></rect>%n", escape(bar.mechanism()), bar.workload().id(),
                            bar.pair().id(), x, y, w, hh, colour, escape(bar.mechanism()), bar.workload().id(),
                            bar.pair().id(), bar.value(), escape(bar.unit())));
                }
            }

            @Override
            public void line(double x1, double y1, double x2, double y2) {
                b.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\""
                        + " stroke=\"#cccccc\" stroke-width=\"1\"/>%n", x1, y1, x2, y2));
            }

            @Override
            public void text(double x, double y, String text, int size, String anchor) {
                b.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%d\" text-anchor=\"%s\">"
                        + "%s</text>%n", x, y, size, anchor, escape(text)));
            }
        });
        return b.append("</svg>\n").toString();
    }

    /** The chart as a PNG image, drawn with java.awt in headless mode. */
    static byte[] png(List<Result> results) throws IOException {
        System.setProperty("java.awt.headless", "true");
        BufferedImage image = new BufferedImage(WIDTH, height(results), BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, image.getWidth(), image.getHeight());
            draw(results, new Canvas() {
                @Override
                public void rect(double x, double y, double w, double h, String colour, Result bar) {
                    g.setColor(Color.decode(colour));
                    g.fillRect((int) Math.round(x), (int) Math.round(y), Math.max(1, (int) Math.round(w)),
                            (int) Math.round(h));
                }

                @Override
                public void line(double x1, double y1, double x2, double y2) {
                    g.setColor(new Color(0xcccccc));
                    g.setStroke(new BasicStroke(1));
                    g.drawLine((int) x1, (int) y1, (int) x2, (int) y2);
                }

                @Override
                public void text(double x, double y, String text, int size, String anchor) {
                    g.setColor(Color.BLACK);
                    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, size));
                    int w = g.getFontMetrics().stringWidth(text);
                    double dx = anchor.equals("middle") ? w / 2.0 : anchor.equals("end") ? w : 0;
                    g.drawString(text, (float) (x - dx), (float) y);
                }
            });
        } finally {
            g.dispose();
        }
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        if (!ImageIO.write(image, "png", out)) {
            throw new IOException("no PNG writer in this JDK");
        }
        return out.toByteArray();
    }

    private static void draw(List<Result> results, Canvas c) {
        c.text(LEFT, 24, "ipcbridge bench: median of the repeats; one colour per pair", 16, "start");
        double x = LEFT;
        for (Pair p : Pair.values()) {
            if (results.stream().anyMatch(r -> r.pair() == p)) {
                c.rect(x, 36, 14, 14, COLOURS[p.ordinal()], null);
                c.text(x + 18, 48, p.id(), 12, "start");
                x += 30 + 8 * p.id().length();
            }
        }
        double top = TOP;
        for (Workload w : Workload.values()) {
            if (!BenchReport.pairs(results, w).isEmpty()) {
                panel(results, w, top, c);
                top += PANEL + AXIS_LABELS + 30;
            }
        }
    }

    private static void panel(List<Result> results, Workload w, double top, Canvas c) {
        List<Pair> pairs = BenchReport.pairs(results, w);
        List<String> mechanisms = BenchReport.mechanisms(results, w);
        boolean log = w == Workload.LATENCY;
        double lo = Double.MAX_VALUE;
        double hi = 0;
        for (Result r : results) {
            if (r.workload() == w) {
                lo = Math.min(lo, r.value());
                hi = Math.max(hi, r.value());
            }
        }
        double min;
        double max;
        if (log) {
            min = Math.pow(10, Math.floor(Math.log10(Math.max(lo, 1e-3))));
            max = Math.pow(10, Math.ceil(Math.log10(Math.max(hi, min * 10))));
        } else {
            min = 0;
            double step = Math.pow(10, Math.floor(Math.log10(Math.max(hi, 1))));
            max = Math.ceil(hi / step) * step;
        }
        double bottom = top + PANEL - 20;
        double plotTop = top + 20;
        c.text(LEFT, top + 10, log ? "Latency: median round trip (us, log scale; lower is better)"
                : "Throughput (MB/s; higher is better)", 14, "start");
        for (double t : ticks(min, max, log)) {
            double y = y(t, min, max, log, plotTop, bottom);
            c.line(LEFT, y, WIDTH - RIGHT, y);
            c.text(LEFT - 6, y + 4, BenchReport.format(t), 11, "end");
        }
        double group = (WIDTH - LEFT - RIGHT) / (double) mechanisms.size();
        double bar = Math.min(18, (group - 10) / pairs.size());
        for (int i = 0; i < mechanisms.size(); i++) {
            double gx = LEFT + i * group + (group - bar * pairs.size()) / 2;
            for (int j = 0; j < pairs.size(); j++) {
                Result r = BenchReport.find(results, mechanisms.get(i), w, pairs.get(j));
                if (r != null) {
                    double y = y(Math.max(r.value(), min), min, max, log, plotTop, bottom);
                    c.rect(gx + j * bar, y, bar - 1, Math.max(bottom - y, 1), COLOURS[r.pair().ordinal()], r);
                }
            }
            c.text(LEFT + (i + 0.5) * group, bottom + 16, mechanisms.get(i), 11, "middle");
        }
    }

    private static double y(double v, double min, double max, boolean log, double top, double bottom) {
        double f = log ? (Math.log10(v) - Math.log10(min)) / (Math.log10(max) - Math.log10(min)) : (v - min) / (max - min);
        return bottom - f * (bottom - top);
    }

    private static List<Double> ticks(double min, double max, boolean log) {
        java.util.ArrayList<Double> t = new java.util.ArrayList<>();
        if (log) {
            for (double v = min; v <= max * 1.0001; v *= 10) {
                t.add(v);
            }
        } else {
            for (int i = 0; i <= 5; i++) {
                t.add(min + (max - min) * i / 5);
            }
        }
        return t;
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}

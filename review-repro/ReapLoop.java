import io.ipcbridge.Reaper;
public class ReapLoop {
    public static void main(String[] a) throws Exception {
        long end = System.nanoTime() + Long.parseLong(a[1]) * 1_000_000_000L;
        int n = 0, removed = 0;
        while (System.nanoTime() < end) {
            try { removed += Reaper.reap(a[0]).size(); n++; }
            catch (Exception e) { System.out.println("reap " + n + " threw: " + e); }
        }
        System.out.println(n + " reaps, " + removed + " removed");
    }
}

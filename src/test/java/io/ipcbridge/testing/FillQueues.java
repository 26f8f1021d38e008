package io.ipcbridge.testing;

import io.ipcbridge.mq.MessageQueue;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * A program for a test that runs it in a fresh IPC namespace (so the system-wide queues_max it
 * exhausts is that namespace's own): creates small queues until creation fails, prints the failure,
 * then removes one queue and creates one again ("recovered"), and removes them all.
 */
public final class FillQueues {
    private FillQueues() {
    }

    public static void main(String[] args) throws IOException {
        List<String> names = new ArrayList<>();
        try {
            for (int i = 0; ; i++) {
                String name = "/fill-" + i;
                MessageQueue.createExclusively(name, 1, 8, 0600).close();
                names.add(name);
            }
        } catch (IOException e) {
            System.out.println(names.size() + " " + e.getClass().getSimpleName() + ": " + e.getMessage());
        }
        MessageQueue.unlink(names.remove(names.size() - 1));
        MessageQueue.createExclusively("/fill-again", 1, 8, 0600).close();
        names.add("/fill-again");
        System.out.println("recovered");
        for (String n : names) {
            MessageQueue.unlink(n);
        }
    }
}

package org.apache.storm.standin;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.Stat;

/**
 * The stand-in daemons' view of Storm's cluster state in ZooKeeper (not Storm's code). Like
 * Storm's daemons they register ephemeral znodes under storm.zookeeper.root and keep them while
 * they live; the layout is Storm 1.x and later's, for every stand-in version:
 * ROOT/supervisors/ID and ROOT/nimbuses/HOST:PORT. The data is JSON, not Storm's Thrift.
 *
 * <p>One thread keeps the session and the registrations: after a lost session it connects
 * again and registers again; a znode left by an earlier process of the same daemon (killed, so
 * its session lingers until it times out) is replaced. A clean stop (SIGTERM) closes the
 * session, so its znodes go at once.
 */
final class Registry implements Watcher {
    private static final long MAINTAIN_MS = 1000;

    private final String daemon;
    private final String connect;
    private final int sessionTimeoutMs;
    private final String root;
    private final Map<String, byte[]> ephemerals = new LinkedHashMap<>();
    private volatile ZooKeeper zk;
    private volatile String status = "not connected yet";

    Registry(String daemon, String servers, int port, String root, int sessionTimeoutMs) {
        this.daemon = daemon;
        StringBuilder hosts = new StringBuilder();
        for (String server : servers.split(",")) {
            if (!server.trim().isEmpty()) {
                hosts.append(hosts.length() > 0 ? "," : "").append(server.trim()).append(':')
                        .append(port);
            }
        }
        this.connect = hosts.toString();
        this.root = root.endsWith("/") && root.length() > 1
                ? root.substring(0, root.length() - 1) : root;
        this.sessionTimeoutMs = sessionTimeoutMs;
    }

    String root() {
        return root;
    }

    String status() {
        return status;
    }

    synchronized void register(String path, String json) {
        ephemerals.put(path, json.getBytes(StandardCharsets.UTF_8));
    }

    void start() {
        StandinDaemon.log(daemon, "ZooKeeper " + connect + ", root " + root);
        Thread thread = new Thread(() -> {
            while (true) {
                try {
                    maintain();
                } catch (Exception e) {
                    status = "error: " + e;
                    StandinDaemon.log(daemon, "ZooKeeper: " + e);
                }
                try {
                    Thread.sleep(MAINTAIN_MS);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "standin-registry");
        thread.setDaemon(true);
        thread.start();
        // Like Storm's daemons on a clean stop: the session closes, its znodes go at once
        // instead of after the session timeout.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            ZooKeeper current = zk;
            if (current != null) {
                try {
                    current.close(2000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }, "standin-registry-close"));
    }

    private void maintain() throws IOException, KeeperException, InterruptedException {
        ZooKeeper current = zk;
        if (current == null || !current.getState().isAlive()) {
            if (current != null) {
                current.close();
                StandinDaemon.log(daemon, "ZooKeeper session ended; connecting again");
            }
            zk = new ZooKeeper(connect, sessionTimeoutMs, this);
            return;
        }
        if (current.getState() != ZooKeeper.States.CONNECTED) {
            return;
        }
        Map<String, byte[]> wanted;
        synchronized (this) {
            wanted = new LinkedHashMap<>(ephemerals);
        }
        for (Map.Entry<String, byte[]> entry : wanted.entrySet()) {
            ensure(current, entry.getKey(), entry.getValue());
        }
    }

    private void ensure(ZooKeeper current, String path, byte[] data)
            throws KeeperException, InterruptedException {
        Stat stat = current.exists(path, false);
        if (stat != null && stat.getEphemeralOwner() == current.getSessionId()) {
            return;
        }
        if (stat != null) {
            try {
                current.delete(path, -1);
                StandinDaemon.log(daemon, "replaced " + path + " left by an earlier session");
            } catch (KeeperException.NoNodeException gone) {
                // Its session ended meanwhile.
            }
        }
        createParents(current, path.substring(0, path.lastIndexOf('/')));
        try {
            current.create(path, data, ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.EPHEMERAL);
            StandinDaemon.log(daemon, "registered " + path);
        } catch (KeeperException.NodeExistsException raced) {
            // Checked again on the next round.
        }
    }

    private static void createParents(ZooKeeper current, String path)
            throws KeeperException, InterruptedException {
        if (path.isEmpty() || current.exists(path, false) != null) {
            return;
        }
        createParents(current, path.substring(0, path.lastIndexOf('/')));
        try {
            current.create(path, new byte[0], ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        } catch (KeeperException.NodeExistsException raced) {
            // Another daemon made it first.
        }
    }

    /** The data of every child of ROOT/folder, as text; empty when there is no such folder. */
    List<String> children(String folder) throws KeeperException, InterruptedException {
        ZooKeeper current = zk;
        if (current == null || current.getState() != ZooKeeper.States.CONNECTED) {
            throw new IllegalStateException("not connected to ZooKeeper (" + status + ")");
        }
        String path = root + "/" + folder;
        List<String> names;
        try {
            names = current.getChildren(path, false);
        } catch (KeeperException.NoNodeException none) {
            return Collections.emptyList();
        }
        Collections.sort(names);
        List<String> found = new ArrayList<>();
        for (String name : names) {
            try {
                String data = new String(current.getData(path + "/" + name, false, null),
                        StandardCharsets.UTF_8);
                // Apache's daemons write Thrift, not JSON: such a member is known by name only.
                found.add(data.startsWith("{") ? data
                        : "{\"id\": \"" + name.replace("\\", "\\\\").replace("\"", "\\\"")
                                + "\", \"thrift\": true}");
            } catch (KeeperException.NoNodeException gone) {
                // Its daemon left between the two calls.
            }
        }
        return found;
    }

    @Override
    public void process(WatchedEvent event) {
        if (event.getType() == Event.EventType.None) {
            String now = event.getState().toString();
            if (!now.equals(status)) {
                status = now;
                StandinDaemon.log(daemon, "ZooKeeper session " + now);
            }
        }
    }
}

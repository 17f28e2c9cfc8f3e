package io.sluice.smtp.auth;

import java.net.InetAddress;
import java.util.Arrays;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Checks SMTP AUTH credentials off the event loops (a PBKDF2 check costs tens to hundreds of
 * milliseconds: it must never run on a session loop) and remembers recent failures per client
 * address, so that a guessing client is answered ever more slowly. The users are an immutable
 * snapshot that {@link #replaceUsers} swaps (a reload of {@code auth.users}, from the reload
 * thread); a session reads {@link #users()} once when its AUTH starts and checks against that
 * snapshot, and the failure counts are kept across swaps. Thread-safe.
 */
public final class Authenticator implements AutoCloseable {

    /** The outcome of one check, delivered on the executor the caller named. */
    @FunctionalInterface
    public interface Result {
        void authenticated(boolean success);
    }

    private static final long SECOND_NANOS = 1_000_000_000L;
    /** Failures older than this are forgiven. */
    private static final long FORGET_NANOS = 600 * SECOND_NANOS;
    private static final int MAX_DELAY_SECONDS = 10;
    /** Bounds the failure table; past it the table is cleared (an attacker with this many addresses is not slowed by it anyway). */
    private static final int MAX_TRACKED_CLIENTS = 100_000;

    private volatile UserDatabase users;
    private final ThreadPoolExecutor workers;
    private final ConcurrentHashMap<InetAddress, long[]> failures = new ConcurrentHashMap<>();

    /**
     * @param threads  password checks that may run at once
     * @param backlog  checks that may wait; beyond it a client gets {@code 454 4.7.0}
     */
    public Authenticator(UserDatabase users, int threads, int backlog) {
        this.users = users;
        this.workers = new ThreadPoolExecutor(threads, threads, 0, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(backlog), r -> {
                    Thread t = new Thread(r, "sluice-auth");
                    t.setDaemon(true);
                    return t;
                });
    }

    /** The users now: one volatile read, any thread (a session keeps it for the AUTH it starts). */
    public UserDatabase users() {
        return users;
    }

    /** Makes {@code replacement} the users of every AUTH that starts from now on; any thread. */
    public void replaceUsers(UserDatabase replacement) {
        users = replacement;
    }

    /** {@link #check(UserDatabase, String, char[], InetAddress, Executor, Result)} against the users now. */
    public boolean check(String user, char[] password, InetAddress client, Executor replyOn, Result result) {
        return check(users, user, password, client, replyOn, result);
    }

    /**
     * Checks {@code password} for {@code user} of {@code snapshot} (from {@link #users()}) on a
     * worker and answers through {@code replyOn}. The password array is wiped once checked.
     *
     * @return false (and no answer will come) when the workers are saturated
     */
    public boolean check(UserDatabase snapshot, String user, char[] password, InetAddress client, Executor replyOn,
            Result result) {
        try {
            workers.execute(() -> {
                boolean ok = snapshot.verify(user, password);
                Arrays.fill(password, '\0');
                if (ok) {
                    failures.remove(client);
                } else {
                    recordFailure(client);
                }
                replyOn.execute(() -> result.authenticated(ok));
            });
            return true;
        } catch (RejectedExecutionException e) {
            Arrays.fill(password, '\0');
            return false;
        }
    }

    /** How long to hold back a failure reply for {@code client}: one second per recent failure, at most ten. */
    public long failureDelayNanos(InetAddress client) {
        long[] entry = failures.get(client);
        if (entry == null || System.nanoTime() - entry[1] > FORGET_NANOS) {
            return 0;
        }
        return Math.min(entry[0], MAX_DELAY_SECONDS) * SECOND_NANOS;
    }

    private void recordFailure(InetAddress client) {
        if (failures.size() > MAX_TRACKED_CLIENTS) {
            failures.clear();
        }
        long now = System.nanoTime();
        failures.compute(client, (a, entry) -> {
            if (entry == null || now - entry[1] > FORGET_NANOS) {
                return new long[] {1, now};
            }
            return new long[] {entry[0] + 1, now};
        });
    }

    @Override
    public void close() {
        workers.shutdownNow();
    }
}

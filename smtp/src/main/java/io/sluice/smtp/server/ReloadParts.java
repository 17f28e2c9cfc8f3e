package io.sluice.smtp.server;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

import io.sluice.smtp.auth.Authenticator;
import io.sluice.smtp.auth.UserDatabase;
import io.sluice.smtp.dkim.DkimKeyFiles;
import io.sluice.smtp.dkim.DkimSigner;
import io.sluice.tls.ReloadingTlsContext;

/**
 * The server's {@link ConfigReloader.Part}s: TLS certificates, AUTH users, DKIM keys. Each reload
 * runs on the reloader's thread (or a caller that is not a loop). Static factories only.
 */
final class ReloadParts {

    private ReloadParts() {
    }

    /** {@code what=tls}: rebuilds the context from the certificate files ({@link ReloadingTlsContext#reload()}). */
    static ConfigReloader.Part tls(ReloadingTlsContext tls) {
        return new ConfigReloader.Part("tls", tls.watchedFiles(), () -> {
            ReloadingTlsContext.ReloadResult result = tls.reload();
            return new ConfigReloader.Outcome(result.succeeded(), result.message());
        });
    }

    /**
     * {@code what=users}: reads {@code file} again; a good one replaces the users for every AUTH
     * that starts from now on, a bad one keeps them. A file with no user while users are in use
     * (caught truncated, mid-rewrite) keeps them too: at start no users means AUTH is not offered,
     * which a reload cannot change. The reason names the file and line, never a hash.
     */
    static ConfigReloader.Part users(Authenticator auth, Path file) {
        return new ConfigReloader.Part("users", List.of(file), () -> {
            try {
                UserDatabase users = UserDatabase.load(file);
                int inUse = auth.users().size();
                if (users.size() == 0 && inUse > 0) {
                    return new ConfigReloader.Outcome(false, file + ": empty; still " + inUse
                            + " users from before (turning AUTH off needs a restart)");
                }
                auth.replaceUsers(users);
                return new ConfigReloader.Outcome(true, "users=" + users.size() + " from " + file);
            } catch (IOException e) {
                return new ConfigReloader.Outcome(false, reason(file, e) + "; still " + auth.users().size()
                        + " users from before");
            }
        });
    }

    /** {@code what=dkim}: reads every key file again ({@link DkimKeyFiles#reload}); a bad key keeps the one in use. */
    static ConfigReloader.Part dkim(DkimSigner signer, DkimKeyFiles files) {
        return new ConfigReloader.Part("dkim", files.files(), () -> {
            DkimKeyFiles.Reload result = files.reload(signer);
            return new ConfigReloader.Outcome(result.succeeded(),
                    "keys=" + result.keys() + " renewed=" + result.renewed() + ": " + result.detail());
        });
    }

    /** The file's fault in words: the JDK's messages for these are just the path. */
    private static String reason(Path file, IOException e) {
        if (e instanceof NoSuchFileException) {
            return file + ": no such file";
        }
        if (e instanceof AccessDeniedException) {
            return file + ": permission denied";
        }
        // UserDatabase's own messages start with file:line; others (a malformed UTF-8 sequence...) do not.
        String message = String.valueOf(e.getMessage());
        return message.startsWith(file.toString()) ? message : file + ": " + e;
    }
}

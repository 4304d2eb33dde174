// What a web client of the API does to edit a note: sign in with the Firebase JS SDK (against the Auth
// emulator), create a note, read its ETag, PATCH it with If-Match. Every step's outcome goes to
// window.result for the test; a fetch the browser's CORS checks stop gives the page no response at all,
// only a TypeError, so that is what such a step records.
import { initializeApp } from "firebase/app";
import { connectAuthEmulator, createUserWithEmailAndPassword, getAuth } from "firebase/auth";

const params = new URLSearchParams(location.search);
const api = params.get("api");
const result = {};

async function call(step, path, init) {
  try {
    const response = await fetch(api + path, init);
    result[step] = { status: response.status, etag: response.headers.get("etag"), body: await response.text() };
  } catch (error) {
    result[step] = { error: String(error) };
  }
  return result[step];
}

async function editNote() {
  const app = initializeApp({ apiKey: "demo-api-key", projectId: params.get("project") });
  const auth = getAuth(app);
  connectAuthEmulator(auth, `http://${params.get("auth")}`, { disableWarnings: true });
  const { user } = await createUserWithEmailAndPassword(auth, params.get("email"), "browser-test-password");
  const json = { authorization: `Bearer ${await user.getIdToken()}`, "content-type": "application/json" };
  result.signedIn = true;

  const created = await call("create", "/notes", {
    method: "POST", headers: json, body: JSON.stringify({ title: "from the browser", body: "v1" }),
  });
  if (created.status !== 201) return;
  const notePath = `/notes/${JSON.parse(created.body).id}`;
  const edit = { method: "PATCH", body: JSON.stringify({ title: "edited in the browser" }) };
  // An unreadable ETag is still sent as some If-Match: the header's preflight is what is tried here.
  await call("edit", notePath, { ...edit, headers: { ...json, "if-match": created.etag ?? '"unreadable"' } });
  if (result.edit.error) {
    // Tell a refused If-Match from any other failure: the same PATCH without it reaches the API (428).
    await call("editWithoutIfMatch", notePath, { ...edit, headers: json });
  } else {
    await call("read", notePath, { headers: json });
  }
}

editNote()
  .catch((error) => { result.failure = String(error); })
  .finally(() => {
    window.result = result;
    document.getElementById("result").textContent = JSON.stringify(result, null, 2);
    document.title = "done";
  });

"""The emulators the function talks to: MiniStack (AWS) and the Firebase Auth emulator."""

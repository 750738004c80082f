// deviceOptions: what the camera and microphone pickers offer.
import assert from "node:assert/strict";
import { test } from "node:test";

import { deviceOptions } from "../../frontend/js/devices.js";

test("one option per device, the current one selected, unnamed ones numbered", () => {
  const devices = [
    { deviceId: "a", label: "Built-in" },
    { deviceId: "b", label: "" },
  ];
  assert.deepEqual(deviceOptions(devices, "audio", "b"), [
    { value: "a", label: "Built-in", selected: false },
    { value: "b", label: "Microphone 2", selected: true },
  ]);
});

test("no device: a single empty entry that says so", () => {
  assert.deepEqual(deviceOptions([], "video", undefined), [{ value: "", label: "No camera available", selected: true }]);
});
